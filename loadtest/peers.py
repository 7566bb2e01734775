"""Config files for the other proxies Evenhand is compared with: nginx (the floor of one proxy hop)
and LiteLLM's proxy (the peer users compare us with). Both point at the fake upstream."""

from __future__ import annotations

import os
from pathlib import Path

from loadtest.bodies import MODEL


def nginx_config(directory: Path, port: int, upstream_port: int) -> Path:
    """A plain `proxy_pass` with keep-alive to the upstream and no buffering (streams pass as they come)."""
    temp = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    text = f"""{user}worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    upstream fake {{
        server 127.0.0.1:{upstream_port};
        keepalive 256;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        keepalive_requests 1000000;
        location / {{
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
}}
"""
    path = directory / "nginx.conf"
    path.write_text(text)
    return path


def litellm_config(directory: Path, upstream_url: str) -> Path:
    """One model entry, `openai/...` at the fake upstream's base URL: LiteLLM's documented way to
    proxy an OpenAI-compatible server."""
    text = f"""model_list:
  - model_name: {MODEL}
    litellm_params:
      model: openai/{MODEL}
      api_base: {upstream_url}
      api_key: sk-loadtest
litellm_settings:
  telemetry: false
"""
    path = directory / "litellm.yaml"
    path.write_text(text)
    return path


# Keep LiteLLM off the network (its model price map is otherwise fetched at start-up), and let it
# serve without a master key on loopback, as Evenhand serves without proxy keys here: neither side
# pays for authentication.
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "NO_DOCS": "True",
    "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
}
