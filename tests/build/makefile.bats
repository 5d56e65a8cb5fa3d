#!/usr/bin/env bats
# The Makefile as a packager uses it: dpkg-buildflags' CPPFLAGS/CFLAGS/LDFLAGS honoured, -Werror
# only for the tests, pkg-config's errors shown, make install with PREFIX and DESTDIR.
# Run from the source tree: bats tests/build (needs the build dependencies, not root).

bats_require_minimum_version 1.5.0 # `run !`

setup() {
  cd "$BATS_TEST_DIRNAME/../.."
}

@test "CPPFLAGS, CFLAGS and LDFLAGS of the environment reach every compile and link" {
  run env CPPFLAGS="-Wdate-time -D_FORTIFY_SOURCE=2" CFLAGS="-g -O2 -fstack-protector-strong" \
    LDFLAGS="-Wl,-z,relro" make -n -B BUILD="$BATS_TEST_TMPDIR/b" PROGRAM="$BATS_TEST_TMPDIR/b/usernode"
  [ "$status" -eq 0 ]
  compiles=$(grep -c -- ' -c -o ' <<< "$output")
  [ "$compiles" -gt 10 ]
  [ "$(grep -- ' -c -o ' <<< "$output" | grep -c -- '-D_FORTIFY_SOURCE=2.*-fstack-protector-strong')" -eq "$compiles" ]
  grep -- "-o $BATS_TEST_TMPDIR/b/usernode " <<< "$output" | grep -q -- '-Wl,-z,relro'
  # our own flags are added, not replaced by the user's
  [ "$(grep -- ' -c -o ' <<< "$output" | grep -c -- '-std=gnu11')" -eq "$compiles" ]
}

@test "-Werror is the tests' (make check, CI), never forced on a user's build" {
  run make -n -B BUILD="$BATS_TEST_TMPDIR/b" PROGRAM="$BATS_TEST_TMPDIR/b/usernode"
  [ "$status" -eq 0 ]
  run ! grep -q -- '-Werror' <<< "$output"
  run make -n -B BUILD="$BATS_TEST_TMPDIR/b" PROGRAM="$BATS_TEST_TMPDIR/b/usernode" tests
  grep -- ' -c -o ' <<< "$output" | grep -q -- '-Werror'
}

@test "a missing pkg-config package is named and stops the build" {
  run env PKG_CONFIG_PATH=/nonexistent PKG_CONFIG_LIBDIR=/nonexistent make -n BUILD="$BATS_TEST_TMPDIR/b"
  [ "$status" -ne 0 ]
  [[ "$output" == *"was not found in the pkg-config search path"* || "$output" == *"No package"* ]]
  [[ "$output" == *"scripts/install-deps.sh"* ]]
}

@test "make check and make asan reach the installer on a machine without the libraries" {
  # scripts/check.sh installs them; the Makefile must not stop before it runs.
  for goal in check asan; do
    run env PKG_CONFIG_PATH=/nonexistent PKG_CONFIG_LIBDIR=/nonexistent make -n "$goal"
    [ "$status" -eq 0 ]
    [[ "$output" == *"scripts/check.sh"* ]]
    [[ "$output" != *"pkg-config found no"* ]]
  done
}

@test "make install puts the binary under DESTDIR/PREFIX" {
  run make -s install DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr
  [ "$status" -eq 0 ]
  [ -x "$BATS_TEST_TMPDIR/root/usr/bin/usernode" ]
  "$BATS_TEST_TMPDIR/root/usr/bin/usernode" --version
  grep -q 'complete -F _usernode usernode' "$BATS_TEST_TMPDIR/root/usr/share/bash-completion/completions/usernode"
  grep -q '^#compdef usernode' "$BATS_TEST_TMPDIR/root/usr/share/zsh/site-functions/_usernode"
  [ -s "$BATS_TEST_TMPDIR/root/usr/share/man/man1/usernode.1" ]
  [ -s "$BATS_TEST_TMPDIR/root/usr/share/man/man5/usernode.ini.5" ]
  run make -s uninstall DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr
  [ ! -e "$BATS_TEST_TMPDIR/root/usr/bin/usernode" ]
}

# The engine's seccomp filter is made by running a program the build compiles with $(CC): one that
# cannot run here (a cross compiler's) stops the build with the reason, and nothing is embedded.
@test "a seccomp filter generator that cannot run stops the build, naming cross-compiling" {
  b=$BATS_TEST_TMPDIR/b
  make -s BUILD="$b" "$b/engine-filter-gen"
  # What a cross compiler would have produced: a file this machine cannot execute.
  printf '\177ELF\002\001\001\000' >"$b/engine-filter-gen"
  run make -s BUILD="$b" "$b/engine-filter.bpf"
  [ "$status" -ne 0 ]
  [[ "$output" == *"cross-compiling is not supported"* ]]
  [ ! -e "$b/engine-filter.bpf" ] && [ ! -e "$b/engine-filter.bpf.tmp" ]
}

@test "usernode and its slirp engine do not link libseccomp; the engine carries the filter" {
  # The tree's own build, as make install's test: up to date after make check's build.
  make -s usernode build/usernode-slirp
  for elf in usernode build/usernode-slirp; do
    run readelf -d "$elf"
    [ "$status" -eq 0 ]
    [[ "$output" != *libseccomp* ]]
  done
  [ -s build/engine-filter.bpf ]
  [ $(($(stat -c %s build/engine-filter.bpf) % 8)) -eq 0 ]
}
