#!/usr/bin/env python3
"""make_oci_image.py DIR TAG: an OCI image layout of this system's static busybox, made here.

The real-node tests need an image without any registry: one layer with /bin/busybox (Debian's
busybox-static) and its applet links, Cmd `sleep 3600`, PATH=/bin, written as an OCI image
layout (image-spec 1.0: oci-layout, index.json with the ref name TAG, blobs/sha256/...) that
`skopeo copy oci:DIR:TAG ...` reads."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

out, tag = sys.argv[1], sys.argv[2]
busybox = "/bin/busybox"
applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()

layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w") as t:
    for d, mode in (("bin", 0o755), ("tmp", 0o1777), ("etc", 0o755), ("www", 0o755)):
        info = tarfile.TarInfo(d)
        info.type = tarfile.DIRTYPE
        info.mode = mode
        t.addfile(info)
    t.add(busybox, arcname="bin/busybox")
    for a in applets:
        if a == "busybox":
            continue
        info = tarfile.TarInfo(f"bin/{a}")
        info.type = tarfile.SYMTYPE
        info.linkname = "busybox"
        t.addfile(info)
layer_tar = layer.getvalue()
layer_gz = gzip.compress(layer_tar, mtime=0)

blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)


def blob(data, media_type):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}


config = {
    "architecture": "amd64",
    "os": "linux",
    "config": {"Cmd": ["sleep", "3600"], "Env": ["PATH=/bin"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
}
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"),
    "layers": [blob(layer_gz, "application/vnd.oci.image.layer.v1.tar+gzip")],
}
desc = blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [desc]}, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
