#compdef cco
# zsh completion for cco
# Load it with:  source <(cco completion zsh)
# or install it as _cco in a folder on $fpath.

_cco() {
    local -a line candidates
    line=("${(@)words[1,CURRENT-1]}")
    if [[ "${words[CURRENT]}" == -* ]]; then
        candidates=("${(@f)$("${(@)line}" "${words[CURRENT]}" --generate-bash-completion 2>/dev/null)}")
    else
        candidates=("${(@f)$("${(@)line}" --generate-bash-completion 2>/dev/null)}")
    fi
    candidates=("${(@)candidates:#}")
    if (( ${#candidates} )); then
        compadd -a candidates
    else
        _files
    fi
}

if [[ "${funcstack[1]}" == "_cco" ]]; then
    _cco "$@"
else
    compdef _cco cco
fi
