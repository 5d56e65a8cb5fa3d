#!/usr/bin/env python3
"""make_busybox_archive.py OUT.tar: a docker-archive image of the host's busybox, made here.

The e2e test needs an image without reaching any registry: one layer with /bin/busybox and its
applet links, a config whose Cmd is `sleep 3600`, tagged localhost/busybox:e2e."""
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile

out = sys.argv[1]
busybox = shutil.which("busybox")
applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()

layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w") as t:
    for d in ("bin", "tmp", "etc"):
        info = tarfile.TarInfo(d)
        info.type = tarfile.DIRTYPE
        info.mode = 0o1777 if d == "tmp" else 0o755
        t.addfile(info)
    t.add(busybox, arcname="bin/busybox")
    for a in applets:
        if a == "busybox":
            continue
        info = tarfile.TarInfo(f"bin/{a}")
        info.type = tarfile.SYMTYPE
        info.linkname = "busybox"
        t.addfile(info)
layer_bytes = layer.getvalue()
diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
config = {
    "architecture": "amd64",
    "os": "linux",
    "config": {"Cmd": ["sleep", "3600"], "Env": ["PATH=/bin"]},
    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
}
config_bytes = json.dumps(config).encode()
config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
manifest = [{"Config": config_name, "RepoTags": ["localhost/busybox:e2e"], "Layers": ["layer.tar"]}]

with tarfile.open(out, "w") as t:
    for name, data in (("layer.tar", layer_bytes), (config_name, config_bytes),
                       ("manifest.json", json.dumps(manifest).encode())):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
