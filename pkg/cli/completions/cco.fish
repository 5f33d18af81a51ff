# fish completion for cco
# Load it with:  cco completion fish | source
# or install it: cco completion fish > ~/.config/fish/completions/cco.fish

function __cco_complete
    set -l line (commandline -opc)
    set -l current (commandline -ct)
    if string match -q -- '-*' $current
        $line $current --generate-bash-completion 2>/dev/null
    else
        $line --generate-bash-completion 2>/dev/null
    end
end

complete -c cco -f -a '(__cco_complete)'
