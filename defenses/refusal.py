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
by zero", "the function cannot return null") do not count.
"""

from __future__ import annotations

import re

DEFAULT_WINDOW = 300

# A match is trusted before the window is complete only once this many characters follow it: the
# look-aheads that veto a phrase ("I can't help *but*...") read at most this far past its end.
_MARGIN = 48
# Longest span any single phrase below can match; bounds how far back an early scan starts.
_MAX_SPAN = 200
# Scan early only after this many new characters, so token-sized deltas stay cheap.
_STEP = 32

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"

_NORMALIZE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "\u00a0": " ", "\u202f": " "})

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
)
"""

# What is declined: a task, not "I can't believe/stress/wait/imagine/say".
_EN_TASK = r"""
(?:\s+(?:really|actually|directly|personally|ethically|responsibly|legally|safely))?
\s+(?:help|assist|provide|give|offer|share|create|write|generate|produce|compose|draft|fulfill|fulfil
    |comply|complete|answer|respond|support|engage|participate|facilitate|encourage|promote|endorse
    |condone|explain|describe|detail|tell|teach|guide|walk\s+you|supply|disclose|reveal|make|develop
    |design|build|list|continue|process|perform|carry\s+out|accommodate|contribute|aid|advise|suggest
    |recommend|be\s+of\s+(?:help|assistance)|be\s+(?:part|involved)|do\s+(?:that|this|so|it|what|as)
    |go\s+along|browse|access|open|view|look\s+up|check|search|send|set|diagnose|prescribe|translate
    |role-?play|pretend|impersonate|fabricate|discuss|talk\s+about|see\s+(?:images|the\s+image|photos|attachments)
)\b
# ...and not a hedge that goes on to answer: "I can't help but notice", "I can't give you an exact
# number, but...", "I can't recommend this book enough".
(?!\s+but\b)
(?!\s+(?:you\s+)?(?:an?\s+|the\s+)?(?:exact|precise|definitive|definite|specific|accurate|certain)\s+
    (?:number|figure|figures|amount|date|time|answer|value|count|percentage|cause|reason|timeline|price|age|statistics?|numbers))
(?!\s+(?:you\s+)?(?:for\s+(?:sure|certain)|exactly|precisely|definitively|with\s+certainty))
(?![^.!?\n]{0,30}\benough\b)
"""

_EN = [
    _EN_NEG + _EN_TASK,
    # "Sorry, I can't." / "I won't do that!"
    r"\bi\s*(?:can't|cannot|won't)(?:\s+do\s+(?:that|this|it))?\s*[.!]",
    # Subjectless, as small models often answer: "Can't help with that."
    r"\A\W{0,4}(?:sorry[,.!]?\s*)?(?:can't|cannot)\s+(?:help|assist)\b(?!\s+but\b)",
    r"\b(?:not|isn't|is\s+not)\s+something\s+(?:that\s+)?i(?:\s+can|'m\s+able\s+to|\s+am\s+able\s+to|\s+will|'ll|\s+would|'d|\s+feel\s+comfortable)\b",
    r"\bi(?:\s+(?:must|have\s+to|need\s+to|will\s+have\s+to|'ll\s+have\s+to|(?:'m|\s+am)\s+going\s+to\s+have\s+to|(?:would|'d)\s+have\s+to))?"
    r"\s+(?:respectfully\s+|politely\s+|kindly\s+)?decline\b",
    r"\bi(?:\s+(?:must|have\s+to|need\s+to|will\s+have\s+to|'ll\s+have\s+to))?\s+(?:respectfully\s+)?refuse\s+(?:to\s+(?:help|assist|provide|give|write|create|generate|answer|comply|engage|participate|share)\b|(?:this|that|your)\b)",
    r"\bi(?:'d|\s+would)\s+(?:rather|prefer)\s+not\s+(?:to\s+)?(?:help|assist|provide|give|write|create|generate|answer|engage|participate|share|discuss|get\s+into|go\s+into|do|make|comment)\b",
    r"\bi\s+(?:do\s+not|don't)\s+feel\s+comfortable\b",
    r"\bi(?:'m|\s+am)\s+not\s+comfortable\s+(?:with\s+(?:this|that|your|the\s+request)|providing|helping|writing|creating|generating|sharing|giving|assisting|engaging|answering|doing|participating|producing|discussing)\b",
    # "This request cannot be fulfilled."
    r"\b(?:request|this|that|it)\s+(?:cannot|can't|can\s+not|will\s+not|won't)\s+be\s+(?:fulfilled|completed|processed|honou?red|answered|granted|assisted\s+with)\b",
    # Appeals to the model's own rules.
    r"\b(?:against|violates?|violating|goes\s+against|contrary\s+to|outside(?:\s+of)?|beyond|not\s+within)\s+my\s+(?:[\w-]+\s+){0,2}?"
    r"(?:guidelines|policies|policy|programming|principles|values|capabilities|abilities|scope|purview|boundaries)\b",
    r"\bmy\s+purpose\s+is\s+to\s+(?:be|provide)\s+(?:\w+\s+){0,2}?(?:helpful\s+and\s+harmless|safe|harmless)\b",
    r"\bi(?:'m|\s+am)\s+(?:programmed|designed)\s+(?:to\s+(?:follow|adhere|avoid|refuse|decline|prioritize\s+(?:safety|ethic))|not\s+to)\b",
    r"\bi(?:'m|\s+am)\s+not\s+(?:programmed|designed)\s+to\b",
    r"\bas\s+an?\s+(?:[\w-]+\s+){0,3}?(?:ai|assistant|language\s+model|model)\b[^.!?\n]{0,60}?\bi\s+must\s+(?:emphasize|stress|remind\s+you|point\s+out)\b",
    # Offering something else instead of what was asked.
    r"\binstead,\s+i(?:\s+can|\s+could|'d\s+be\s+happy|\s+would\s+be\s+happy|'m\s+happy|\s+am\s+happy)\b",
    r"\bwhat\s+i\s+can\s+do(?:\s+instead)?\s+is\b",
    # Lectures in place of an answer.
    r"\b(?:illegal|unlawful)(?:,\s*|\s+and\s+|\s+or\s+)(?:\w+\s+)?(?:unethical|immoral)\b",
    r"\bunethical(?:,\s*|\s+and\s+|\s+or\s+)(?:\w+\s+)?illegal\b",
    r"\bit(?:'s|\s+is)\s+never\s+(?:okay|ok|acceptable|appropriate|right)\s+to\b",
    r"\bis\s+never\s+(?:the\s+(?:answer|solution)|okay|ok|acceptable|justified)\b",
    r"\bit(?:'s\s+not|\s+is\s+not|\s+isn't|\s+would\s+not\s+be|\s+wouldn't\s+be)\s+(?:appropriate|ethical|acceptable|okay|ok|right|responsible)\s+for\s+me\s+to\b",
    r"\bit(?:'s|\s+is|\s+would\s+be)\s+(?:inappropriate|not\s+appropriate|unethical|not\s+ethical|not\s+acceptable)\s+to\s+"
    r"(?:make|create|write|generate|share|provide|promote|joke|spread|stereotype|generaliz|target|mock|insult|discriminat|judge|label|harm|hurt)",
    r"\A[^.!?\n]{0,80}?\bi\s+(?:would\s+|'d\s+)?strongly\s+(?:advise|urge|caution|recommend)\s+(?:you\s+)?(?:against|not\s+to)\b",
    r"\A\W{0,4}\w+ing\b[^.!?\n]{0,80}?\b(?:is|are)\s+(?:a\s+(?:serious\s+)?(?:crime|offen[cs]e)|unethical|against\s+the\s+law)\b",
]

# --- Spanish ---------------------------------------------------------------------------------

_ES = [
    r"\bno\s+(?:puedo|podr[eé]|podr[ií]a|voy\s+a|debo|me\s+es\s+posible|estoy\s+en\s+(?:condiciones|posici[oó]n)\s+de|estoy\s+autorizad[oa]\s+a|tengo\s+permitido)"
    r"(?:\s+(?:te|le|les|lo|la|los|las|se|nos))?"
    r"\s+(?:ayudar|asistir(?=te|le|les)|proporcionar|dar|brindar|ofrecer|facilitar|crear|escribir|generar|redactar|compartir|responder|cumplir|explicar"
    r"|participar|apoyar|fomentar|colaborar|realizar|hacer|continuar|satisfacer|acceder|atender|navegar|consultar|abrir|ver|recomendar|revelar"
    r"|elaborar|producir|contestar|ense[ñn]ar|describir|detallar)(?:te|le|les|lo|la|los|las|nos|selo|sela|telo|tela)?\b",
    r"\bdebo\s+(?:negarme|rechazar|declinar)\b",
    r"\bme\s+niego\s+a\b",
    r"\bno\s+me\s+siento\s+c[oó]mod[oa]\b",
    r"\b(?:en\s+contra\s+de|viola|fuera\s+de)\s+mis\s+(?:\w+\s+)?(?:directrices|pol[ií]ticas|principios|capacidades|normas)\b",
    r"\bilegal\s+y\s+(?:poco\s+[eé]tico|no\s+[eé]tico|inmoral)\b",
]

# --- French ----------------------------------------------------------------------------------

_FR_CLITICS = r"(?:\s*(?:vous|te|t'|lui|leur|y|en|le|la|les|l'))*"
_FR = [
    r"\bje\s+ne\s+(?:peux|pourrai|pourrais|vais|dois|souhaite|suis\s+pas\s+autoris[ée]e?\s+[àa])\s+pas" + _FR_CLITICS +
    r"\s*(?:aider|assister|fournir|donner|communiquer|cr[ée]er|[ée]crire|g[ée]n[ée]rer|r[ée]diger|partager|r[ée]pondre|expliquer|d[ée]crire"
    r"|d[ée]tailler|participer|encourager|faciliter|proposer|satisfaire|acc[ée]der|faire|produire|ouvrir|consulter|naviguer|recommander"
    r"|r[ée]v[ée]ler|indiquer|enseigner|accompagner|conseiller|apporter|traiter|continuer)\b",
    r"\bje\s+ne\s+suis\s+pas\s+(?:en\s+mesure|autoris[ée]e?|habilit[ée]e?)\b",
    r"\bil\s+m'est\s+impossible\s+de\b",
    r"\bje\s+(?:dois\s+|me\s+vois\s+(?:dans\s+l'obligation|contraint[e]?)\s+de\s+)?(?:refuser|d[ée]cliner)\b",
    r"\bje\s+refuse\s+de\b",
    r"\bje\s+ne\s+me\s+sens\s+pas\s+[àa]\s+l'aise\b",
    r"\b(?:contraire\s+[àa]|viole)\s+mes\s+(?:\w+\s+)?(?:directives|principes|r[èe]gles|politiques|lignes\s+directrices)\b",
    r"\bill[ée]gal\s+et\s+(?:contraire\s+[àa]\s+l'[ée]thique|immoral|non\s+[ée]thique)\b",
]

# --- German ----------------------------------------------------------------------------------

_DE_TASK = (
    r"(?:helfen|unterst[üu]tzen|geben|bereitstellen|bereit\s*stellen|liefern|erstellen|schreiben|verfassen|generieren|erzeugen|erf[üu]llen"
    r"|beantworten|nachkommen|anbieten|teilen|machen|tun|erkl[äa]ren|beschreiben|mitwirken|beteiligen|f[öo]rdern|zur\s+verf[üu]gung\s+stellen"
    r"|weiterhelfen|aufrufen|[öo]ffnen|ansehen|nachsehen|zugreifen|durchf[üu]hren|ausf[üu]hren|empfehlen|verraten|herausgeben|formulieren"
    r"|anleiten|zeigen|entwickeln|programmieren|produzieren)\b"
)
_DE = [
    # Verb-final: "ich kann dir dabei nicht helfen", "dabei kann ich leider nicht helfen".
    r"\b(?:ich\s+(?:kann|darf|werde|m[öo]chte|will)|(?:kann|darf|werde|m[öo]chte)\s+ich)\b[^.,;!?\n]{0,60}?\b(?:nicht|keine[nmrs]?|kein)\b[^.,;!?\n]{0,60}?\b"
    + _DE_TASK,
    r"\bich\s+bin\s+(?:leider\s+)?nicht\s+in\s+der\s+lage\b",
    r"\bes\s+ist\s+mir\s+(?:leider\s+)?nicht\s+m[öo]glich\b",
    r"\bich\s+(?:muss|werde)\s+(?:\w+\s+){0,2}?ablehnen\b",
    r"\bich\s+lehne\b[^.!?\n]{0,40}?\bab\b",
    r"\b(?:gegen|versto[ßs]en\s+gegen|widerspricht)\s+meine\s+(?:\w+\s+)?(?:richtlinien|grunds[äa]tze|regeln|prinzipien)\b",
    r"\billegal\s+und\s+unethisch\b",
]

_PATTERN = re.compile("|".join(f"(?:{p})" for p in (*_EN, *_ES, *_FR, *_DE)), re.IGNORECASE | re.VERBOSE)

_LEAD, _THINK, _AFTER_THINK, _BODY = range(4)


class RefusalStream:
    """Incremental refusal verdict for one streamed response.

    `feed` each delta as it passes; it returns the verdict once decided, else None. A refusal is
    reported as soon as its phrase is settled; otherwise the verdict comes when `window` characters
    of the answer have passed, or at `finish()`. Memory and per-feed work are bounded by the window.
    """

    __slots__ = ("window", "_state", "_pending", "_buf", "_scanned", "_verdict")

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if window < 1:
            raise ValueError("window must be at least 1 character")
        self.window = window
        self._state = _LEAD
        self._pending = ""
        self._buf = ""
        self._scanned = 0
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
            if self._pending:
                # A short answer that only looked like the start of "<think>".
                self._buf = self._pending.translate(_NORMALIZE)
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
        room = self.window - len(self._buf)
        if len(delta) >= room:
            self._buf += delta[:room].translate(_NORMALIZE)
            return self._decide()
        buf = self._buf = self._buf + delta.translate(_NORMALIZE)
        if len(buf) - self._scanned >= _STEP:
            m = _PATTERN.search(buf, max(0, self._scanned - _MAX_SPAN - _MARGIN))
            self._scanned = len(buf)
            if m is not None and m.end() + _MARGIN <= len(buf):
                self._verdict = True
                self._buf = ""
                return True
        return None

    def _decide(self) -> bool:
        self._verdict = _PATTERN.search(self._buf) is not None
        self._buf = ""
        return self._verdict


def is_refusal(text: str) -> bool:
    """Whether a whole response is a refusal: the streaming verdict, fed in one piece."""
    stream = RefusalStream()
    stream.feed(text)
    return stream.finish()
