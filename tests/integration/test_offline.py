"""Nothing reaches the network: tokenizers and the embedding model load from installed packages."""
import subprocess
import sys
import textwrap


def _run_without_network(code: str) -> subprocess.CompletedProcess:
    guard = textwrap.dedent("""
        import socket
        def _refuse(*a, **k):
            raise OSError("network disabled in this test")
        socket.socket.connect = _refuse
        socket.create_connection = _refuse
        socket.getaddrinfo = _refuse
    """)
    return subprocess.run([sys.executable, "-c", guard + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent-home"})


def test_tiktoken_counts_tokens_with_the_network_unreachable():
    result = _run_without_network("""
        from assistant.tokens import count_tokens
        print(count_tokens("Sawtooth wavefront reordering", "gpt-4o-mini"), count_tokens("本文分析了内存行为"))
    """)
    assert result.returncode == 0, result.stderr
    a, b = map(int, result.stdout.split())
    assert 3 <= a <= 10 and b > 3


def test_embedding_model_loads_and_embeds_with_the_network_unreachable():
    result = _run_without_network("""
        from assistant.config import load_settings
        from assistant.ingest.embeddings import Embedder
        e = Embedder(load_settings(env={}))
        v = e.embed_texts(["KV cache compression", "compressing key-value caches", "sourdough bread"])
        import numpy as np
        v = np.array(v)
        print(v.shape[1], round(float(np.linalg.norm(v[0])), 3), float(v[0] @ v[1]) > float(v[0] @ v[2]))
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["384", "1.0", "True"]
