"""Refusal detection over model responses, whole or streamed.

A refusal declines what was asked, wholly or in part ("I can't provide instructions for X, but here
is general safety information"), or lectures instead of answering. Models say so up front, so the
verdict depends only on the first `window` characters of the answer: a stream is judged as it
passes, never held back, and the whole-text check is the same classifier on the same prefix
(`is_refusal(t)` equals feeding `t` in any chunking, then `finish()`).

The answer starts after leading whitespace and after a leading `<think>...</think>` block, which is
the model's reasoning, not what the user reads.

Lexical, English, Spanish, French and German. The phrases are first-person declines tied to a
task verb ("I can't help", "no puedo ayudarte", "je ne peux pas vous aider", "dabei kann ich
nicht helfen"), so sympathy ("I'm sorry to hear...") and impersonal negation ("you cannot divide
by zero", "the function cannot return null") do not count. Known blind spots: lectures with no
first-person decline ("Cheating on your taxes is illegal and can lead to...") are caught only in a
few set forms, and a decline quoted inside an answer ("HAL says 'I'm afraid I can't do that'")
still counts. tests/defenses/refusal_set.jsonl measures both.
"""

from __future__ import annotations

import re

DEFAULT_WINDOW = 300

# A match is trusted before the window is complete only once this many characters follow it: the
# look-aheads that veto a phrase ("I can't help *but*...") read at most this far past its end.
_MARGIN = 96
# Early checks retry phrases starting at most this far before the settled end; a longer one (only
# possible through long runs of whitespace) waits for the final check.
_MAX_SPAN = 200
# Scan early only after this many new characters, so token-sized deltas stay cheap.
_STEP = 32

# More than the longest trigger word: how far back a new scan starts, since a delta may cut a word.
_LONGEST_TRIGGER = 16

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"

# Typographic apostrophes and non-breaking spaces, as models emit them, to their plain forms.
_NORMALIZE = (("\u2019", "'"), ("\u2018", "'"), ("\u02bc", "'"), ("\u00b4", "'"), ("\u00a0", " "), ("\u202f", " "))

# --- English ---------------------------------------------------------------------------------

# "I can't", "I won't be able to", "I'm unable to", "I don't feel comfortable"...
_EN_NEG = r"""
\bi(?:\s+(?:really|simply|just|unfortunately|sadly|truly|still|definitely|therefore|also|honestly|currently|absolutely))?
(?:
    \s*(?:can't|cannot|can\s+not|could\s+not|couldn't|won't|will\s+not|shouldn't|should\s+not|must\s+not)
        (?:\s+and\s+(?:will|shall)\s+not|\s+be\s+able\s+to|\s+in\s+good\s+conscience)?
  | (?:'m|\s+am)\s+(?:really\s+|afraid\s+i\s+(?:can't|cannot)\s+|sorry,?\s+but\s+)?
        (?:not\s+(?:able|going|allowed|permitted|in\s+a\s+position|willing|authorized)\s+to|unable\s+to)
  | \s+(?:do\s+not|don't)\s+have\s+the\s+(?:ability|capability|means)\s+to
  | (?:\s+(?:do\s+not|don't)\s+think|'m\s+not\s+sure|\s+am\s+not\s+sure)\s+(?:that\s+)?i\s+(?:can|should|could)
)
"""

# What is declined: a task, not "I can't believe/stress/wait/imagine/say".
_EN_TASK = r"""
(?:\s+(?:really|actually|directly|personally|ethically|responsibly|legally|safely))?
\s+(?:help|assist|provide|give|offer|share|create|write|generate|produce|compose|draft|fulfill|fulfil
    |comply|complete|answer|respond|support|engage|participate|facilitate|encourage|promote|endorse
    |condone|explain|describe|detail|tell|teach|guide|walk\s+you|supply|disclose|reveal|develop
    |design|build|list|continue|process|perform|carry\s+out|accommodate|contribute|aid|advise|suggest|make(?!\s{1,3}it\b)
    |recommend|be\s+of\s+(?:help|assistance)|be\s+(?:part|involved)|do\s+(?:that|this|so|it|what|as)
    |go\s+along|browse|access|open|view|look\s+up|check|search|send|set|diagnose|prescribe|translate
    |role-?play|pretend|impersonate|fabricate|discuss|talk\s+about|see\s+(?:images|the\s+image|photos|attachments)
)\b
# ...and not a hedge that goes on to answer: "I can't help but notice", "I can't give you an exact
# number, but...", "I can't recommend this book enough".
(?!\s{1,3}but\b)
(?!\s{1,3}(?:you\s{1,3})?(?:an?\s{1,3}|the\s{1,3})?(?:exact|precise|definitive|definite|specific|accurate|certain)\s{1,3}
    (?:number|figure|figures|amount|date|time|answer|value|count|percentage|cause|reason|timeline|price|age|statistics?|numbers))
(?!\s{1,3}(?:you\s{1,3})?(?:for\s{1,3}(?:sure|certain)|exactly|precisely|definitively|with\s{1,3}certainty))
(?![^.!?\n]{0,30}\benough\b)
# Idioms: "I can't help thinking", "I can't tell you how happy I am".
(?!\s{1,3}(?:thinking|feeling|wondering|noticing|laughing|smiling|loving|admiring|imagining|hoping)\b)
(?!\s{1,3}(?:you\s{1,3})?how\s{1,3}(?:much|many|happy|glad|excited|grateful|thankful|relieved|pleased|proud|often|good|great|amazing|important)\b)
# Dialogue in a story the model is writing: "I won't help you," she snapped.
(?![^"\n]{0,30}"\s{0,3}(?:\w{1,20}\s{1,3}){0,2}(?:said|says|snapped|replied|whispered|shouted|muttered|answered|asked|added|told|growled|sighed|yelled)\b)
"""

# German puts the verb last: "ich kann dir dabei nicht *helfen*".
_DE_TASK = (
    r"(?:helfen|unterst[üu]tzen|geben|bereitstellen|bereit\s*stellen|liefern|erstellen|schreiben|verfassen|generieren|erzeugen|erf[üu]llen"
    r"|beantworten|nachkommen|anbieten|teilen|machen|tun|erkl[äa]ren|beschreiben|mitwirken|beteiligen|f[öo]rdern|zur\s+verf[üu]gung\s+stellen"
    r"|weiterhelfen|aufrufen|[öo]ffnen|ansehen|nachsehen|zugreifen|durchf[üu]hren|ausf[üu]hren|empfehlen|verraten|herausgeben|formulieren"
    r"|anleiten|zeigen|entwickeln|programmieren|produzieren|behilflich)\b"
)

# Each rule: the words it starts with (its triggers), then its pattern from that word on. Text is
# matched lower-cased. Rules with no trigger are anchored at the start of the answer.
_RULES: tuple[tuple[str, str], ...] = (
    # --- English ---
    ("i", _EN_NEG + _EN_TASK),
    # "Sorry, I can't." / "I won't do that!"
    ("i", r"\bi\s*(?:can't|cannot|won't)(?:\s+do\s+(?:that|this|it))?\s*[.!]"),
    ("not isn't is", r"\b(?:not|isn't|is\s+not)\s+something\s+(?:that\s+)?i(?:\s+can|'m\s+able\s+to|\s+am\s+able\s+to|\s+will|'ll|\s+would|'d"
     r"|\s+feel\s+comfortable|\s+do|\s+engage\s+in|\s+provide|\s+help\s+with)\b"),
    ("outside beyond", r"\b(?:outside|beyond)\s+(?:of\s+)?(?:what|the\s+scope\s+of\s+what)\s+i\s+(?:can|'m\s+able\s+to|am\s+able\s+to)\b"),
    # "I won't be providing...", "I'm not helping with this."
    ("i", r"\bi(?:\s+won't|\s+will\s+not|'m\s+not|\s+am\s+not)\s+(?:be\s+)?(?:providing|helping|assisting|writing|creating|generating|sharing"
     r"|giving|producing|answering|engaging|participating|continuing)\b(?!\s{1,3}but\b)"),
    ("i", r"\bi(?:\s+have\s+to|\s+must|'ll\s+have\s+to|\s+will\s+have\s+to|\s+need\s+to|(?:'m|\s+am)\s+going\s+to(?:\s+have\s+to)?)\s+(?:respectfully\s+)?"
     r"(?:turn\s+(?:it\s+|this\s+|that\s+|you\s+)?down|pass\s+on\s+(?:this|that|it|your))\b"),
    ("i", r"\bi(?:\s+(?:must|have\s+to|need\s+to|will\s+have\s+to|'ll\s+have\s+to|(?:'m|\s+am)\s+going\s+to\s+have\s+to|(?:would|'d)\s+have\s+to))?"
     r"\s+(?:respectfully\s+|politely\s+|kindly\s+)?decline\b"),
    ("i", r"\bi(?:\s+(?:must|have\s+to|need\s+to|will\s+have\s+to|'ll\s+have\s+to))?\s+(?:respectfully\s+)?refuse\s+"
     r"(?:to\s+(?:help|assist|provide|give|write|create|generate|answer|comply|engage|participate|share)\b|(?:this|that|your)\b)"),
    ("i", r"\bi(?:'d|\s+would)\s+(?:rather|prefer)\s+not\s+(?:to\s+)?(?:help|assist|provide|give|write|create|generate|answer|engage|participate"
     r"|share|discuss|get\s+into|go\s+into|do|make|comment|weigh\s+in|speculate|take\s+sides|get\s+involved)\b"),
    ("i", r"\bi\s+(?:do\s+not|don't)\s+feel\s+comfortable\b"),
    ("i", r"\bi(?:'m|\s+am)\s+not\s+comfortable\s+(?:with\s+(?:this|that|your|the\s+request|\w+ing)|\w+ing)\b"),
    # "This request cannot be fulfilled."
    ("request this that it", r"\b(?:request|this|that|it)\s+(?:cannot|can't|can\s+not|will\s+not|won't)\s+be\s+"
     r"(?:fulfilled|completed|processed|honou?red|answered|granted|assisted\s+with)\b"),
    # Appeals to the model's own rules.
    ("against violates violate violating goes contrary outside beyond not",
     r"\b(?:against|violates?|violating|goes\s+against|contrary\s+to|outside(?:\s+of)?|beyond|not\s+within)\s+my\s+(?:[\w-]+\s+){0,2}?"
     r"(?:guidelines|policies|policy|programming|principles|values|capabilities|abilities|scope|purview|boundaries)\b"),
    ("my", r"\bmy\s+purpose\s+is\s+to\s+(?:be|provide)\s+(?:\w+\s+){0,2}?(?:helpful\s+and\s+harmless|safe|harmless)\b"),
    ("i", r"\bi(?:'m|\s+am)\s+(?:programmed|designed)\s+(?:to\s+(?:follow|adhere|avoid|refuse|decline|prioritize\s+(?:safety|ethic))|not\s+to)\b"),
    ("i", r"\bi(?:'m|\s+am)\s+not\s+(?:programmed|designed)\s+to\b"),
    ("as", r"\bas\s+an?\s+(?:[\w-]+\s+){0,3}?(?:ai|assistant|language\s+model|model)\b[^.!?\n]{0,60}?\bi\s+must\s+"
     r"(?:emphasize|stress|remind\s+you|point\s+out)\b"),
    # Offering something else instead of what was asked.
    ("instead", r"\binstead,\s+i(?:\s+can|\s+could|'d\s+be\s+happy|\s+would\s+be\s+happy|'m\s+happy|\s+am\s+happy)\b"),
    ("what", r"\bwhat\s+i\s+can\s+do(?:\s+instead)?\s+is\b"),
    # Lectures in place of an answer.
    ("illegal unlawful", r"\b(?:illegal|unlawful)(?:,\s*|\s+and\s+|\s+or\s+)(?:\w+\s+)?(?:unethical|immoral)\b"),
    ("unethical", r"\bunethical(?:,\s*|\s+and\s+|\s+or\s+)(?:\w+\s+)?illegal\b"),
    ("it", r"\bit(?:'s|\s+is)\s+never\s+(?:okay|ok|acceptable|appropriate|right)\s+to\b"),
    ("is", r"\bis\s+never\s+(?:the\s+(?:answer|solution)|okay|ok|acceptable|justified)\b"),
    ("it", r"\bit(?:'s\s+not|\s+is\s+not|\s+isn't|\s+would\s+not\s+be|\s+wouldn't\s+be)\s+(?:appropriate|ethical|acceptable|okay|ok|right|responsible)"
     r"\s+for\s+me\s+to\b"),
    ("it", r"\bit(?:'s|\s+is|\s+would\s+be)\s+(?:inappropriate|not\s+appropriate|unethical|not\s+ethical|not\s+acceptable)\s+to\s+"
     r"(?:make|create|write|generate|share|provide|promote|joke|spread|stereotype|generaliz|target|mock|insult|discriminat|judge|label|harm|hurt)"),
    # Subjectless, as small models often answer: "Can't help with that."
    ("", r"\A\W{0,4}(?:sorry[,.!]?\s*)?(?:can't|cannot)\s+(?:help|assist)\b(?!\s{1,3}but\b)"),
    ("", r"\A[^.!?\n]{0,80}?\bi\s+(?:would\s+|'d\s+)?strongly\s+(?:advise|urge|caution|recommend)\s+(?:you\s+)?(?:against|not\s+to)\b"),
    # "Hacking into someone's account is a serious crime..." as the whole opening.
    ("", r"\A\W{0,4}\w+ing\b[^.!?\n]{0,80}?\b(?:is|are)\s+(?:a\s+(?:serious\s+)?(?:crime|offen[cs]e)|unethical|against\s+the\s+law)\b"),
    # --- Spanish ---
    ("no", r"\bno\s+(?:puedo|podr[eé]|podr[ií]a|voy\s+a|debo|me\s+es\s+posible|estoy\s+en\s+(?:condiciones|posici[oó]n)\s+de|estoy\s+autorizad[oa]\s+a"
     r"|tengo\s+permitido)(?:\s+(?:te|le|les|lo|la|los|las|se|nos))?"
     r"\s+(?:ayudar|asistir(?=te|le|les)|proporcionar|dar|brindar|ofrecer|facilitar|crear|escribir|generar|redactar|compartir|responder|cumplir"
     r"|explicar|participar|apoyar|fomentar|colaborar|realizar|hacer|continuar|satisfacer|acceder|atender|navegar|consultar|abrir|ver|recomendar"
     r"|revelar|elaborar|producir|contestar|ense[ñn]ar|describir|detallar)(?:te|le|les|lo|la|los|las|nos|selo|sela|telo|tela)?\b"),
    ("debo", r"\bdebo\s+(?:negarme|rechazar|declinar)\b"),
    ("me", r"\bme\s+niego\s+a\b"),
    ("lamento siento", r"\b(?:lamento|siento)\s+no\s+poder\b"),
    ("no", r"\bno\s+me\s+siento\s+c[oó]mod[oa]\b"),
    ("en viola fuera", r"\b(?:en\s+contra\s+de|viola|fuera\s+de)\s+mis\s+(?:\w+\s+)?(?:directrices|pol[ií]ticas|principios|capacidades|normas)\b"),
    ("ilegal", r"\bilegal\s+y\s+(?:poco\s+[eé]tico|no\s+[eé]tico|inmoral)\b"),
    # --- French ---
    ("je", r"\bje\s+ne\s+(?:peux|pourrai|pourrais|vais|dois|souhaite)\s+pas(?:\s*(?:vous|te|t'|lui|leur|y|en|le|la|les|l')){0,3}"
     r"\s*(?:aider|assister|fournir|donner|communiquer|cr[ée]er|[ée]crire|g[ée]n[ée]rer|r[ée]diger|partager|r[ée]pondre|expliquer|d[ée]crire"
     r"|d[ée]tailler|participer|encourager|faciliter|proposer|satisfaire|acc[ée]der|faire|produire|ouvrir|consulter|naviguer|recommander"
     r"|r[ée]v[ée]ler|indiquer|enseigner|accompagner|conseiller|apporter|traiter|continuer)\b"),
    ("je", r"\bje\s+ne\s+suis\s+pas\s+(?:en\s+mesure|autoris[ée]e?|habilit[ée]e?)\b"),
    ("il", r"\bil\s+m'est\s+impossible\s+de\b"),
    ("je", r"\bje\s+(?:dois\s+|me\s+vois\s+(?:dans\s+l'obligation|contrainte?)\s+de\s+)?(?:refuser|d[ée]cliner)\b"),
    ("je", r"\bje\s+refuse\s+de\b"),
    ("je", r"\bje\s+ne\s+me\s+sens\s+pas\s+[àa]\s+l'aise\b"),
    ("contraire viole", r"\b(?:contraire\s+[àa]|viole)\s+mes\s+(?:\w+\s+)?(?:directives|principes|r[èe]gles|politiques|lignes\s+directrices)\b"),
    ("illégal illegal", r"\bill[ée]gal\s+et\s+(?:contraire\s+[àa]\s+l'[ée]thique|immoral|non\s+[ée]thique)\b"),
    # --- German ---
    # Verb-final: "ich kann dir dabei nicht helfen", "dabei kann ich leider nicht helfen".
    ("ich kann darf werde möchte mochte",
     r"\b(?:ich\s+(?:kann|darf|werde|m[öo]chte|will)|(?:kann|darf|werde|m[öo]chte)\s+ich)\b[^.,;!?\n]{0,60}?\b(?:nicht|keine[nmrs]?|kein)\b"
     r"[^.,;!?\n]{0,60}?\b" + _DE_TASK),
    # "Als KI darf ich keine Diagnosen stellen": what the model may not do is a refusal whatever the verb.
    ("ich darf", r"\b(?:ich\s+darf|darf\s+ich)\b[^.,;!?\n]{0,60}?\b(?:nicht|keine[nmrs]?|kein)\b"),
    ("nichts", r"\bnichts,?\s+(?:wobei|womit|bei\s+dem|was)\s+ich\b[^.!?\n]{0,30}?\b(?:helfen|unterst[üu]tzen|behilflich)\b"),
    ("ich", r"\bich\s+bin\s+(?:leider\s+)?nicht\s+in\s+der\s+lage\b"),
    ("es", r"\bes\s+ist\s+mir\s+(?:leider\s+)?nicht\s+m[öo]glich\b"),
    ("ich", r"\bich\s+(?:muss|werde)\s+(?:\w+\s+){0,2}?ablehnen\b"),
    ("ich", r"\bich\s+lehne\b[^.!?\n]{0,40}?\bab\b"),
    ("gegen verstoßen verstossen widerspricht",
     r"\b(?:gegen|versto[ßs]en\s+gegen|widerspricht)\s+meine\s+(?:\w+\s+)?(?:richtlinien|grunds[äa]tze|regeln|prinzipien)\b"),
    ("illegal", r"\billegal\s+und\s+unethisch\b"),
)


def _compile_rules() -> tuple[re.Pattern[str], re.Pattern[str], dict[str, re.Pattern[str]]]:
    by_word: dict[str, list[str]] = {}
    at_start: list[str] = []
    for triggers, pattern in _RULES:
        # Whitespace runs bounded, so a response padded with blanks costs no backtracking.
        pattern = pattern.replace(r"\s+", r"\s{1,8}").replace(r"\s*", r"\s{0,8}")
        if not triggers:
            at_start.append(pattern)
        for word in triggers.split():
            by_word.setdefault(word, []).append(pattern)
    assert max(map(len, by_word)) < _LONGEST_TRIGGER
    trigger = re.compile(r"\b" + _trie(sorted(by_word)) + r"\b")
    start = re.compile("|".join(f"(?:{p})" for p in at_start), re.VERBOSE)
    return trigger, start, {w: re.compile("|".join(f"(?:{p})" for p in ps), re.VERBOSE) for w, ps in by_word.items()}


def _trie(words: list[str]) -> str:
    """An alternation grouped by first letter, which `re` scans much faster than a flat one."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(word[1:])
    branches = []
    for head, tails in sorted(groups.items()):
        rest = sorted((t for t in tails if t), key=len, reverse=True)
        inner = "|".join(map(re.escape, rest))
        branches.append(re.escape(head) + (f"(?:{inner})" if rest else "") + ("?" if rest and "" in tails else ""))
    return "(?:" + "|".join(branches) + ")"


# Finding the few words a refusal phrase can start with, then trying only the rules for that
# word, costs a fraction of running every rule over the whole window.
_TRIGGER, _AT_START, _BY_WORD = _compile_rules()


def _first_match_end(text: str) -> int:
    """End of a refusal phrase in `text` (normalized, lower-cased), or -1."""
    m = _AT_START.match(text)
    if m is not None:
        return m.end()
    for t in _TRIGGER.finditer(text):
        m = _BY_WORD[t.group()].match(text, t.start())
        if m is not None:
            return m.end()
    return -1


_LEAD, _THINK, _AFTER_THINK, _BODY = range(4)


class RefusalStream:
    """Incremental refusal verdict for one streamed response.

    `feed` each delta as it passes; it returns the verdict once decided, else None. A refusal is
    reported as soon as its phrase is settled; otherwise the verdict comes when `window` characters
    of the answer have passed, or at `finish()`. Memory and per-feed work are bounded by the window.
    Once the verdict is known, further feeds are no-ops, so a caller may stop feeding.
    """

    __slots__ = ("window", "_state", "_pending", "_buf", "_room", "_checked", "_scanned", "_triggers", "_verdict")

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if window < 1:
            raise ValueError("window must be at least 1 character")
        self.window = window
        self._state = _LEAD
        self._pending = ""  # the start of "<think>" or the end of the reasoning, never more
        self._buf = ""  # the answer so far, normalized and lower-cased
        self._room = window  # answer characters still to take
        self._checked = 0  # len(_buf) at the last early check
        self._scanned = 0  # trigger words are known up to here
        self._triggers: list[tuple[int, str]] = []
        self._verdict: bool | None = None

    @property
    def verdict(self) -> bool | None:
        return self._verdict

    def feed(self, delta: str) -> bool | None:
        if self._verdict is not None or not delta:
            return self._verdict
        state = self._state
        if state == _BODY:
            return self._feed_body(delta)
        if state == _THINK:
            return self._feed_think(delta)
        return self._feed_lead(delta)

    def finish(self) -> bool:
        """The verdict at the end of the stream (False for an empty answer or unclosed reasoning)."""
        if self._verdict is None:
            if self._state == _LEAD and self._pending:
                # A short answer that only looked like the start of "<think>".
                self._buf = _prepare(self._pending)
                self._pending = ""
            self._decide()
        return self._verdict  # type: ignore[return-value]

    def _feed_lead(self, delta: str) -> bool | None:
        text = self._pending + delta if self._pending else delta.lstrip()
        if not text:
            return None
        if self._state == _LEAD and len(text) < len(_THINK_OPEN) and _THINK_OPEN.startswith(text):
            self._pending = text
            return None
        self._pending = ""
        if self._state == _LEAD and text.startswith(_THINK_OPEN):
            self._state = _THINK
            return self._feed_think(text[len(_THINK_OPEN) :])
        self._state = _BODY
        return self._feed_body(text)

    def _feed_think(self, delta: str) -> bool | None:
        # Keep just enough of the reasoning to see a closing tag split across deltas.
        text = self._pending + delta
        end = text.find(_THINK_CLOSE)
        if end < 0:
            self._pending = text[-(len(_THINK_CLOSE) - 1) :]
            return None
        self._pending = ""
        self._state = _AFTER_THINK
        rest = text[end + len(_THINK_CLOSE) :]
        return self._feed_lead(rest) if rest else None

    def _feed_body(self, delta: str) -> bool | None:
        if len(delta) >= self._room:
            self._buf += _prepare(delta[: self._room])
            return self._decide()
        self._room -= len(delta)
        self._buf += _prepare(delta)
        if len(self._buf) - self._checked >= _STEP and self._settled_refusal():
            self._verdict = True
            self._buf = ""
            return True
        return None

    def _settled_refusal(self) -> bool:
        """A refusal phrase followed by enough text that no look-ahead can still veto it."""
        buf = self._buf
        self._checked = len(buf)
        limit = len(buf) - _MARGIN
        if limit <= 0:
            return False
        m = _AT_START.match(buf)
        if m is not None and m.end() <= limit:
            return True
        oldest = limit - _MAX_SPAN
        for start, word in self._update_triggers():
            if start >= limit:
                break
            if start >= oldest:
                m = _BY_WORD[word].match(buf, start)
                if m is not None and m.end() <= limit:
                    return True
        return False

    def _update_triggers(self) -> list[tuple[int, str]]:
        """Trigger words in the buffer, as a full scan would find them, scanning only new text.

        The scan restarts a little before the old end: a delta boundary may have cut a word
        ("i" of "ich"), and the words found there are dropped and found again whole.
        """
        buf = self._buf
        rescan = max(0, self._scanned - _LONGEST_TRIGGER)
        triggers = self._triggers
        while triggers and triggers[-1][0] >= rescan:
            triggers.pop()
        triggers.extend((t.start(), t.group()) for t in _TRIGGER.finditer(buf, rescan))
        self._scanned = len(buf)
        return triggers

    def _decide(self) -> bool:
        # Equal to _first_match_end(self._buf) >= 0, reusing the trigger words already found.
        buf = self._buf
        verdict = _AT_START.match(buf) is not None or any(
            _BY_WORD[word].match(buf, start) is not None for start, word in self._update_triggers()
        )
        self._verdict = verdict
        self._buf = ""
        self._triggers = []
        return verdict


def _prepare(text: str) -> str:
    text = text.lower()
    for typographic, plain in _NORMALIZE:
        if typographic in text:
            text = text.replace(typographic, plain)
    return text


def is_refusal(text: str) -> bool:
    """Whether a whole response is a refusal: the streaming verdict, fed in one piece."""
    stream = RefusalStream()
    stream.feed(text)
    return stream.finish()
