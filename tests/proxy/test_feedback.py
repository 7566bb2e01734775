from proxy.feedback import FeedbackStore

LABELS = (("m", "religion", "muslim", "default", "treatment", "true"),)


def test_feedback_is_taken_once():
    store = FeedbackStore()
    store.remember("chatcmpl-1", LABELS)
    assert store.take("chatcmpl-1") == LABELS
    assert store.take("chatcmpl-1") is None


def test_unknown_ids_are_none():
    assert FeedbackStore().take("nope") is None


def test_capacity_evicts_the_oldest():
    store = FeedbackStore(capacity=3)
    for i in range(5):
        store.remember(f"id{i}", LABELS)
    assert len(store) == 3
    assert store.take("id0") is None and store.take("id1") is None
    assert store.take("id4") == LABELS


def test_expired_entries_are_gone():
    store = FeedbackStore(ttl_seconds=10)
    store.remember("old", LABELS, now=100.0)
    store.remember("new", LABELS, now=105.0)
    assert store.take("old", now=111.0) is None
    assert store.take("new", now=111.0) == LABELS


def test_empty_ids_are_not_remembered():
    store = FeedbackStore()
    store.remember("", LABELS)
    assert len(store) == 0
