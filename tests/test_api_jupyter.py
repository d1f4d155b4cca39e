"""The sync client inside a real Jupyter kernel, whose event loop is already running."""

from __future__ import annotations

import json

import nbclient
import nbformat
import pytest


@pytest.mark.slow
def test_client_in_a_jupyter_kernel(start_voxnb_server, tiny_wav, tmp_path, guarded_api_key, monkeypatch):
    server = start_voxnb_server(api_key=guarded_api_key)
    paths = []
    for seed in (1, 2):
        path = tmp_path / f"clip{seed}.wav"
        path.write_bytes(tiny_wav(seed, seconds=1.0))
        paths.append(str(path))
    # the kernel inherits the key through its environment, as a user's notebook would
    monkeypatch.setenv("VOXNB_TEST_SERVER_KEY", guarded_api_key)
    cells = [
        "import os, voxnb\nkey = os.environ['VOXNB_TEST_SERVER_KEY']\n"
        f"client = voxnb.Client(base_url={server.url!r}, api_key=key)\nclient",
        f"t = client.transcribe({paths[0]!r}, timestamps='segment')\nprint('TEXT', t.text)\nt",
        f"result = client.transcribe_many({paths!r}, cache={str(tmp_path / 'cache')!r})\n"
        "print('BATCH', len(result), result.requests)\nresult",
        f"async with voxnb.AsyncClient(base_url={server.url!r}, api_key=key) as aclient:\n"
        f"    t2 = await aclient.transcribe({paths[0]!r})\nprint('ASYNC', t2.text == t.text)",
        f"try:\n    voxnb.Client(base_url=client.base_url, api_key='wrong').transcribe({paths[1]!r})\n"
        "except voxnb.VoxnbError as err:\n    print('ERROR', type(err).__name__)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = json.dumps(notebook)
    assert guarded_api_key not in outputs
    printed = "".join(
        o.get("text", "") for cell in notebook.cells for o in cell.outputs if o["output_type"] == "stream"
    )
    import voxnb
    from voxnb.local.fake import FakeEngine

    expected = FakeEngine().transcribe(voxnb.Audio.load(paths[0]).y)["text"]
    assert f"TEXT {expected}\n" in printed
    assert "BATCH 2 2\n" in printed
    assert "ASYNC True" in printed
    assert "ERROR AuthenticationError" in printed
    assert "api_key=set" in outputs
