#!/usr/bin/env bats
# The OCI runtime wrapper as CRI-O runs it: the small binary usernode writes to
# STATE/oci-runtime/usernode-oci-runtime (tests/helpers/oci_wrapper_install does what `run` does),
# a symlink `runtime` beside it to the real runtime (here a script that records its arguments and
# the spec it was given), bundles laid out as containers/storage does
# (RUNROOT/overlay-containers/ID/userdata). The usernode binary itself, run by that name, is the
# same wrapper (the last test).

bats_require_minimum_version 1.5.0 # `run !`

load helpers

SB=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
CTR=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb

setup() {
  setup_state
  dir=$BATS_TEST_TMPDIR
  mkdir -p "$dir/overlay-containers/$SB/userdata" "$dir/overlay-containers/$CTR/userdata"
  cat >"$dir/fake-runtime" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$dir/args"
for a in "\$@"; do [ -n "\$next" ] && cp "\$a/config.json" "$dir/seen.json"; next=; [ "\$a" = --bundle ] && next=1; done
exit 7
EOF
  chmod +x "$dir/fake-runtime"
  wrapper=$("$USERNODE_HELPERS/oci_wrapper_install" "$dir" "$dir/fake-runtime")
  [ "$wrapper" = "$dir/oci-runtime/usernode-oci-runtime" ]
}

# spec TYPE PARENT_OR_SANDBOX: a spec as CRI-O writes it with _CRIO_ROOTLESS=1 (cgroupsPath cleared).
spec() {
  if [ "$1" = sandbox ]; then
    ann="\"io.kubernetes.cri-o.ContainerType\":\"sandbox\",\"io.kubernetes.cri-o.CgroupParent\":\"$2\""
  else
    ann="\"io.kubernetes.cri-o.ContainerType\":\"container\",\"io.kubernetes.cri-o.SandboxID\":\"$2\""
  fi
  printf '{"ociVersion":"1.0.2","process":{"args":["sh"]},"annotations":{%s},"linux":{"cgroupsPath":"","resources":{"memory":{"limit":33554432}}}}\n' "$ann"
}

@test "oci runtime: a sandbox goes back into its pod's cgroup, with the infra oom score as far as allowed" {
  spec sandbox /kubepods/besteffort/pod-1 >"$dir/overlay-containers/$SB/userdata/config.json"
  run "$wrapper" --root /r create --bundle "$dir/overlay-containers/$SB/userdata" --pid-file /p "$SB"
  [ "$status" -eq 7 ]
  # Nothing on stderr: conmon hands it on to the container's log.
  [ -z "$output" ]
  grep -q "\"cgroupsPath\":\"/kubepods/besteffort/pod-1/crio-$SB\"" "$dir/seen.json"
  grep -q '"oomScoreAdj":' "$dir/seen.json"
  # The rest of the spec is kept.
  grep -q '"limit":33554432' "$dir/seen.json"
  # The runtime got the very same arguments.
  [ "$(cat "$dir/args")" = "$(printf '%s\n' --root /r create --bundle "$dir/overlay-containers/$SB/userdata" --pid-file /p "$SB")" ]
}

@test "oci runtime: a container finds its pod's cgroup in the sandbox's spec beside its own" {
  spec sandbox /kubepods/besteffort/pod-2 >"$dir/overlay-containers/$SB/userdata/config.json"
  spec container "$SB" >"$dir/overlay-containers/$CTR/userdata/config.json"
  run "$wrapper" create --bundle "$dir/overlay-containers/$CTR/userdata" "$CTR"
  [ "$status" -eq 7 ]
  grep -q "\"cgroupsPath\":\"/kubepods/besteffort/pod-2/crio-$CTR\"" "$dir/seen.json"
  # BestEffort: kubelet's 1000, which anyone may set.
  grep -q '"oomScoreAdj":1000' "$dir/seen.json"
}

@test "oci runtime: without a known pod cgroup the spec stays as CRI-O wrote it" {
  spec container cccccccc >"$dir/overlay-containers/$CTR/userdata/config.json"
  cp "$dir/overlay-containers/$CTR/userdata/config.json" "$dir/before.json"
  run "$wrapper" create --bundle "$dir/overlay-containers/$CTR/userdata" "$CTR"
  [ "$status" -eq 7 ]
  cmp "$dir/before.json" "$dir/seen.json"
}

@test "oci runtime: other commands go straight through, exit status included" {
  run "$wrapper" --root /r kill "$CTR" TERM
  [ "$status" -eq 7 ]
  [ "$(cat "$dir/args")" = "$(printf '%s\n' --root /r kill "$CTR" TERM)" ]
}

@test "oci runtime: a bundle without a readable spec fails the create with the path named" {
  run "$wrapper" create --bundle "$dir/nowhere" "$CTR"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$dir/nowhere/config.json"* ]]
  [ ! -e "$dir/args" ]
}

@test "oci runtime: the wrapper is a small binary of its own, written once, replacing an older symlink" {
  # Not the usernode binary: CRI-O starts it for every runtime call, so it loads no libraries
  # beyond libc and json-c (none at all when linked statically; under make asan, the sanitizers'
  # runtimes too).
  run ! cmp -s "$wrapper" "$(readlink -f "$USERNODE")"
  [ ! -L "$wrapper" ]
  [ "$(stat -c %a "$wrapper")" = 700 ]
  libs=$(ldd "$wrapper" 2>&1 | grep -v -E 'not a dynamic executable|linux-vdso|ld-linux|libc\.so|libjson-c\.so|libasan|libubsan|libm\.so|libgcc_s|libstdc' || true)
  [ -z "$libs" ]
  inode=$(stat -c %i "$wrapper")
  "$USERNODE_HELPERS/oci_wrapper_install" "$dir" "$dir/fake-runtime"
  [ "$(stat -c %i "$wrapper")" = "$inode" ]
  # What a usernode of before this change left: a symlink to itself.
  ln -sfn "$(readlink -f "$USERNODE")" "$wrapper"
  "$USERNODE_HELPERS/oci_wrapper_install" "$dir" "$dir/fake-runtime"
  [ ! -L "$wrapper" ]
  run "$wrapper" --root /r kill "$CTR" TERM
  [ "$status" -eq 7 ]
}

@test "oci runtime: the usernode binary run by the wrapper's name is the same wrapper" {
  spec sandbox /kubepods/besteffort/pod-3 >"$dir/overlay-containers/$SB/userdata/config.json"
  ln -sfn "$(readlink -f "$USERNODE")" "$wrapper"
  run "$wrapper" create --bundle "$dir/overlay-containers/$SB/userdata" "$SB"
  [ "$status" -eq 7 ]
  [ -z "$output" ]
  grep -q "\"cgroupsPath\":\"/kubepods/besteffort/pod-3/crio-$SB\"" "$dir/seen.json"
}
