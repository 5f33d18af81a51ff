# bash completion for cco
# Load it with:  source <(cco completion bash)
# or install it: cco completion bash > /etc/bash_completion.d/cco

_cco_completions() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local -a line=("${COMP_WORDS[@]:0:COMP_CWORD}")
    local candidates
    if [[ "$cur" == -* ]]; then
        candidates=$("${line[@]}" "$cur" --generate-bash-completion 2>/dev/null)
    else
        candidates=$("${line[@]}" --generate-bash-completion 2>/dev/null)
    fi
    local IFS=$'\n'
    # shellcheck disable=SC2207 # word splitting on newlines is the point
    COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}

complete -o bashdefault -o default -F _cco_completions cco
