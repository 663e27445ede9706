# Sourced by the scripts that need root (namespaces, DPDK, Mininet), from
# the repository's root: `as_root "$@"` re-runs the calling script through
# sudo when it is not root, and says what to do when there is no sudo
# (Debian's minimal image has none).
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        return 0
    fi
    command -v sudo >/dev/null || {
        echo "$(basename "$0"): needs root: run it as root (su -), or install sudo" >&2
        exit 1
    }
    exec sudo -E "$0" "$@"
}
