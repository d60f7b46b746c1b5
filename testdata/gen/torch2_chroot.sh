#!/bin/sh
# Regenerate pth's PyTorch 2.x fixtures with Debian 13 (trixie)'s python3-torch 2.6,
# torchvision 0.21 and numpy 2.2, in a chroot next to the machine's own PyTorch 1.13.
#
#     sudo testdata/gen/torch2_chroot.sh            # from anywhere in the checkout
#     sudo testdata/gen/torch2_chroot.sh --setup    # steps 1 and 2 only (.ci/run, before the
#                                                   # round trips against PyTorch 2.x)
#
# 1. Builds the trixie root at $TRIXIE_ROOT (default /var/tmp/trixie) with debootstrap,
#    unless it already runs `import torch, torchvision, numpy` (idempotent; needs network
#    the first time, ~2 GB).
# 2. Mounts /proc in it and bind-mounts this checkout at the same path inside, so paths
#    are the same in and out of the chroot. The mounts are left in place for the Go
#    test that asks PyTorch 2.x to load pth's output:
#        PTH_TORCH2="chroot $TRIXIE_ROOT python3" go test -run Torch2 .
# 3. Runs testdata/gen/gen_fixtures.py (-> testdata/fixtures/torch2/) and
#    testdata/gen/model_fixtures.py (-> testdata/models/torch2/) with torch 2.x; both
#    keep committed files that still say the same thing.
#
# Harmless noise from the chroot: "UCX ERROR failed to get boot id", "Error in cpuinfo".
# Undo the mounts with: umount "$TRIXIE_ROOT$REPO" "$TRIXIE_ROOT/proc"
set -eu

ROOT=${TRIXIE_ROOT:-/var/tmp/trixie}
REPO=$(cd "$(dirname "$0")/../.." && pwd -P)

if [ "$(id -u)" != 0 ]; then
	echo "torch2_chroot.sh: debootstrap, mount and chroot need root" >&2
	exit 1
fi

if ! chroot "$ROOT" python3 -c 'import torch, torchvision, numpy' >/dev/null 2>&1; then
	debootstrap --variant=minbase \
		--include=python3-torch,python3-torchvision,python3-numpy \
		trixie "$ROOT" http://deb.debian.org/debian
fi

mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
mkdir -p "$ROOT$REPO"
# A mount left by an earlier checkout at the same path (CI clones main afresh
# into the same folder, and the root outlives the clone) still shows that
# checkout, deleted or not: `mountpoint` alone would keep it. Remount unless the
# mount is this very directory (same device and inode).
if mountpoint -q "$ROOT$REPO" &&
	[ "$(stat -c %d:%i "$ROOT$REPO")" != "$(stat -c %d:%i "$REPO")" ]; then
	umount -l "$ROOT$REPO"
fi
mountpoint -q "$ROOT$REPO" || mount --bind "$REPO" "$ROOT$REPO"
if [ ! -e "$ROOT$REPO/go.mod" ]; then
	echo "torch2_chroot.sh: $ROOT$REPO does not show this checkout after mounting it" >&2
	exit 1
fi

chroot "$ROOT" python3 -c 'import torch, numpy, torchvision; print("torch", torch.__version__, "numpy", numpy.__version__, "torchvision", torchvision.__version__)'
if [ "${1:-}" = "--setup" ]; then
	exit 0
fi
chroot "$ROOT" sh -c "cd '$REPO' && python3 testdata/gen/gen_fixtures.py && python3 testdata/gen/model_fixtures.py"
