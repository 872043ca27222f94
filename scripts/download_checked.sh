# Sourced by scripts/get_cifar10.sh and get_cifar100.sh: download an archive, check its md5 and
# unpack it, leaving nothing partial behind on any failure.
#   download_checked NAME URL MD5 DIR OFFLINE_HINT
download_checked() {
  local name=$1 url=$2 md5=$3 dir=$4 hint=$5
  mkdir -p "$dir"
  local archive="$dir/$name.download.tar.gz"
  local partial="$archive.part"
  echo "$name: downloading $url into $dir" >&2
  if ! curl -fL --retry 3 -o "$partial" "$url"; then
    rm -f "$partial"
    echo "$name: error: download of $url failed; $hint" >&2
    exit 1
  fi
  local got
  got=$(md5sum "$partial" | cut -d' ' -f1)
  if [[ "$got" != "$md5" ]]; then
    rm -f "$partial"
    echo "$name: error: $url has md5 $got, expected $md5 (corrupt or not the official archive)" >&2
    exit 1
  fi
  mv "$partial" "$archive"
  tar -xzf "$archive" -C "$dir"
  rm -f "$archive"
}
