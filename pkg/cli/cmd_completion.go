package cli

import (
	"embed"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// The scripts ask cco itself for candidates (--generate-bash-completion),
// so they follow the commands and flags of the installed version.
//
//go:embed completions
var completionScripts embed.FS

var shells = map[string]string{
	"bash":       "completions/cco.bash",
	"zsh":        "completions/cco.zsh",
	"fish":       "completions/cco.fish",
	"powershell": "completions/cco.ps1",
}

func completionCommand(sys *System) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh, fish, powershell)",
		ArgsUsage: "bash|zsh|fish|powershell",
		Description: "Load completions for the current shell:\n" +
			"  bash:        source <(cco completion bash)\n" +
			"  zsh:         source <(cco completion zsh)\n" +
			"  fish:        cco completion fish | source\n" +
			"  powershell:  cco completion powershell | Out-String | Invoke-Expression",
		BashComplete: func(c *cli.Context) {
			for _, s := range []string{"bash", "zsh", "fish", "powershell"} {
				fmt.Fprintln(c.App.Writer, s)
			}
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion needs one shell: bash, zsh, fish or powershell")
			}
			return runCompletion(sys.Stdout, c.Args().First())
		},
	}
}

func runCompletion(w io.Writer, shell string) error {
	name, ok := shells[shell]
	if !ok {
		return usagef("no completion for shell %q; choose bash, zsh, fish or powershell", shell)
	}
	script, err := completionScripts.ReadFile(name)
	if err != nil {
		return err
	}
	_, err = w.Write(script)
	return err
}
