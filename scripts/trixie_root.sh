# Sourced by scripts/test_libtorch2.sh and scripts/rehearse_gpu_check.sh: a Debian trixie root made
# with debootstrap from the mirror this machine's apt sources name (no host is written in the
# repository), packages installed there, this tree's sources copied in, and mounts undone on exit.
# The caller sets `root` and `suite` and defines say() and unavailable() (exit 3: nothing checked).

# The Debian mirror of this machine's apt sources (deb822 .sources or one-line .list), not security.
debian_mirror() {
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list)
  local f
  for f in "${files[@]}"; do
    [[ -r $f ]] || continue
    if [[ $f == *.sources ]]; then
      sed -n 's/^URIs:[[:space:]]*//p' "$f"
    else
      sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "$f"
    fi
  done | tr ' ' '\n' | grep -E '/debian/?$' | grep -v security | head -1
}

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
mount_into_root() {  # source target [mount options...]
  local target=$root/$2
  mkdir -p "$target"
  mount "${@:3}" "$1" "$target"
  mounted+=("$target")
}

# make_root PACKAGE...: the root (made once, then reused) with PACKAGEs installed and /proc mounted.
make_root() {
  [[ $(id -u) -eq 0 ]] || unavailable "needs root (debootstrap and chroot)"
  if [[ ! -f $root/.acgan-ready ]]; then
    command -v debootstrap >/dev/null || {
      say "installing debootstrap"
      { apt-get install -y -q --no-install-recommends debootstrap ||
        { apt-get update -q && apt-get install -y -q --no-install-recommends debootstrap; }; } \
        >/dev/null 2>&1 || unavailable "cannot install debootstrap"
    }
    local mirror
    mirror=$(debian_mirror)
    [[ -n $mirror ]] || unavailable "no Debian mirror found in /etc/apt/sources.list{,.d}"
    say "debootstrap $suite from $mirror into $root (about 3 minutes)"
    rm -rf "$root"
    mkdir -p "$root"
    debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$root.debootstrap.log" 2>&1 ||
      unavailable "debootstrap failed (log: $root.debootstrap.log)"
    echo "deb $mirror $suite main" > "$root/etc/apt/sources.list"
    touch "$root/.acgan-ready"
  fi
  mount_into_root proc proc -t proc
  local missing=() p
  for p in "$@"; do
    chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  if (( ${#missing[@]} )); then
    say "installing ${missing[*]}"
    chroot "$root" apt-get update -q > "$root.apt.log" 2>&1 &&
      chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}" >> "$root.apt.log" 2>&1 ||
      unavailable "apt-get install in the $suite root failed (log: $root.apt.log)"
  fi
}

# copy_tree_into_root: the sources as they are in this tree (tracked and untracked, not ignored)
# into $root/work/acgan, and ../shared (golden numbers, seeds, data) read-only beside them, as the
# tests expect it. Only files whose content changed are copied, with a new mtime: ninja must see
# them as newer than the objects of the last run, which tar's restored mtimes would not guarantee.
copy_tree_into_root() {
  local src=$root/work/acgan stage f
  mkdir -p "$src" "$root/work/shared"
  stage=$(mktemp -d)
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$stage"
  (cd "$stage" && find . -type f) | while IFS= read -r f; do
    if ! cmp -s "$stage/$f" "$src/$f"; then
      mkdir -p "$(dirname "$src/$f")"
      cp "$stage/$f" "$src/$f"
    fi
  done
  rm -rf "$stage"
  if [[ -d ../shared ]]; then
    mount_into_root "$(cd ../shared && pwd)" work/shared --bind
    mount -o remount,bind,ro "$root/work/shared"
  fi
}
