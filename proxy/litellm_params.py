"""Which fields of a client's request may become `litellm.acompletion` keyword arguments.

litellm takes its own options as keyword arguments beside the model's (`base_url`, `api_base`,
`api_key`, `headers`, `extra_headers`, `mock_response`, `fallbacks`, `model_list`, AWS and Vertex
credentials, ...): passing the client's fields as keyword arguments would let a client send the
request, with the proxy's upstream key, to a URL of its choosing. Only OpenAI's own chat parameters
go as keyword arguments; every other field (vendor extensions such as `top_k`) travels inside
`extra_body`, which litellm merges into the body it sends the provider and never reads itself.
"""

from __future__ import annotations

from typing import Any

# OpenAI's Chat Completions request parameters (each is a litellm parameter of the same meaning).
OPENAI_CHAT_PARAMS = frozenset(
    {
        "model",
        "messages",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)

# Never forwarded: `metadata` is litellm's own logging channel.
DROPPED = frozenset({"metadata"})


def litellm_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    """A client's request body as keyword arguments for `litellm.acompletion`.

    A client's own `extra_body` field is a vendor field like any other (it is not merged): merged,
    it could replace the `model` or the defended `messages` in what the provider receives.
    """
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key in OPENAI_CHAT_PARAMS:
            kwargs[key] = value
        elif key not in DROPPED:
            extra[key] = value
    if extra:
        kwargs["extra_body"] = extra
    return kwargs
