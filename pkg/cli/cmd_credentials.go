package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/credentials"
	"github.com/visiquate/cco/pkg/secret"
)

// The credentials cco itself reads.
const (
	credAPIKey = "anthropic-api-key"
	credToken  = "server-token"
	// tokenHeader is the header remote clients send the access token in.
	tokenHeader = "x-cco-token"
	tokenPrefix = "cco_"
)

// credentialStore is what the credentials commands need of the store.
type credentialStore interface {
	Get(name string) (secret.Secret, error)
	Set(name string, value []byte) error
	Delete(name string) error
	List() ([]string, error)
	Backend() string
	Where() string
	Label() string
}

type credentialsOptions struct {
	configPath string // --config
	name       string
	reveal     bool      // get --reveal
	json       bool      // list --json
	force      bool      // new-token --force
	rand       io.Reader // new-token's randomness
}

func credentialsCommand(sys *System) *cli.Command {
	// parse fills the options, checking the NAME argument when one is
	// wanted. Flags may follow the NAME, as in `get NAME --reveal`.
	parse := func(c *cli.Context, wantName bool) (credentialsOptions, error) {
		args, late, err := interspersedFlags(c)
		if err != nil {
			return credentialsOptions{}, err
		}
		isSet := func(name string) bool {
			f := late.Lookup(name)
			return c.Bool(name) || f != nil && f.Value.String() == "true"
		}
		o := credentialsOptions{configPath: c.String("config"), reveal: isSet("reveal"), json: isSet("json"),
			force: isSet("force"), rand: rand.Reader}
		if f := late.Lookup("config"); f != nil && f.Value.String() != "" {
			o.configPath = f.Value.String()
		}
		switch {
		case !wantName && len(args) > 0:
			return o, usagef("%s takes no arguments, got %q", "credentials "+c.Command.Name, strings.Join(args, " "))
		case !wantName:
			return o, nil
		case len(args) == 0:
			return o, usagef("%s needs a credential NAME, such as %s", "credentials "+c.Command.Name, credAPIKey)
		case len(args) > 1 && c.Command.Name == "set":
			return o, usagef("credentials set takes only a NAME: the value comes from a prompt or standard input, " +
				"never from the command line, where other users and the shell history would see it")
		case len(args) > 1:
			return o, usagef("%s takes one NAME, got %q", "credentials "+c.Command.Name, strings.Join(args, " "))
		}
		o.name = args[0]
		if err := credentials.ValidateName(o.name); err != nil {
			return o, usageError{err}
		}
		return o, nil
	}
	// action opens the store the configuration names and runs run on it.
	action := func(wantName bool, run func(*System, credentialStore, credentialsOptions) error) cli.ActionFunc {
		return func(c *cli.Context) error {
			o, err := parse(c, wantName)
			if err != nil {
				return err
			}
			lc, err := loadConfig(sys, o.configPath, nil, false)
			if err != nil {
				return err
			}
			st, err := openCredentials(sys, lc)
			if err != nil {
				return err
			}
			return run(sys, st, o)
		}
	}
	return &cli.Command{
		Name:  "credentials",
		Usage: "keep the Anthropic API key and the access token in the OS keychain or an encrypted file",
		Description: "Credentials live in the OS keychain (macOS Keychain, Secret Service, Windows Credential\n" +
			"Manager) or in an encrypted file in the data folder, as credentials.backend says (auto, keychain\n" +
			"or file; env CCO_CREDENTIALS_BACKEND). `cco run` reads " + credAPIKey + " (else ANTHROPIC_API_KEY)\n" +
			"and " + credToken + " (else CCO_SERVER_TOKEN).",
		Subcommands: []*cli.Command{
			{
				Name:      "set",
				Usage:     "store a credential, read from a hidden prompt or from standard input",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{configFlag()},
				Action:    action(true, runCredentialsSet),
			},
			{
				Name:      "get",
				Usage:     "say whether a credential is set and where; --reveal prints it",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{configFlag(), &cli.BoolFlag{Name: "reveal", Usage: "print the value itself"}},
				Action:    action(true, runCredentialsGet),
			},
			{
				Name:   "list",
				Usage:  "list the names of the stored credentials and where they are kept",
				Flags:  []cli.Flag{configFlag(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: action(false, runCredentialsList),
			},
			{
				Name:      "delete",
				Usage:     "remove a credential",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{configFlag()},
				Action:    action(true, runCredentialsDelete),
			},
			{
				Name:   "new-token",
				Usage:  "make a random access token for remote clients and store it as " + credToken,
				Flags:  []cli.Flag{configFlag(), &cli.BoolFlag{Name: "force", Usage: "replace an existing token"}},
				Action: action(false, runCredentialsNewToken),
			},
		},
	}
}

// openCredentials opens the store that the configuration names, in the
// data folder.
func openCredentials(sys *System, lc *loadedConfig) (*credentials.Store, error) {
	return credentials.Open(credentials.Options{
		Backend:   lc.resolved.Config.Credentials.Backend,
		Dir:       lc.paths.DataDir,
		LookupEnv: sys.LookupEnv,
		GOOS:      sys.GOOS,
	})
}

func runCredentialsSet(sys *System, st credentialStore, o credentialsOptions) error {
	value, err := readSecretValue(sys, fmt.Sprintf("Value for %s (not shown): ", o.name))
	defer clear(value)
	if err != nil {
		return err
	}
	if err := st.Set(o.name, value); err != nil {
		return err
	}
	_, err = fmt.Fprintf(sys.Stdout, "stored %s (%d bytes) in %s\n", o.name, len(value), st.Where())
	return err
}

// readSecretValue reads a value from the terminal without echo or, when
// stdin is not a terminal, all of stdin less one trailing newline.
func readSecretValue(sys *System, prompt string) ([]byte, error) {
	var (
		value []byte
		err   error
	)
	if sys.ReadSecret != nil {
		value, err = sys.ReadSecret(prompt)
	} else {
		value, err = io.ReadAll(io.LimitReader(sys.Stdin, credentials.MaxValueSize+3))
	}
	if err != nil {
		clear(value)
		return nil, fmt.Errorf("read the value: %w", err)
	}
	if bytes.HasSuffix(value, []byte("\r\n")) {
		value = value[:len(value)-2]
	} else if bytes.HasSuffix(value, []byte("\n")) {
		value = value[:len(value)-1]
	}
	switch {
	case len(value) == 0:
		return nil, usagef("no value given: type it at the prompt or pipe it on standard input; an empty value is not stored")
	case len(value) > credentials.MaxValueSize:
		clear(value)
		return nil, fmt.Errorf("the value is longer than %d bytes", credentials.MaxValueSize)
	}
	return value, nil
}

func runCredentialsGet(sys *System, st credentialStore, o credentialsOptions) error {
	v, err := st.Get(o.name)
	if err != nil {
		return err
	}
	if o.reveal {
		_, err = fmt.Fprintln(sys.Stdout, v.Reveal())
		return err
	}
	_, err = fmt.Fprintf(sys.Stdout, "%s is set (%d bytes) in %s; --reveal prints it\n", o.name, len(v.Reveal()), st.Where())
	return err
}

func runCredentialsList(sys *System, st credentialStore, o credentialsOptions) error {
	names, err := st.List()
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(sys.Stdout, struct {
			Backend string   `json:"backend"`
			Where   string   `json:"where"`
			Names   []string `json:"names"`
		}{st.Backend(), st.Where(), names})
	}
	if len(names) == 0 {
		_, err = fmt.Fprintf(sys.Stdout, "# no credentials in %s\n", st.Where())
		return err
	}
	fmt.Fprintf(sys.Stdout, "# credentials in %s\n", st.Where())
	for _, n := range names {
		fmt.Fprintln(sys.Stdout, n)
	}
	return nil
}

func runCredentialsDelete(sys *System, st credentialStore, o credentialsOptions) error {
	if err := st.Delete(o.name); err != nil {
		return err
	}
	_, err := fmt.Fprintf(sys.Stdout, "deleted %s from %s\n", o.name, st.Where())
	return err
}

func runCredentialsNewToken(sys *System, st credentialStore, o credentialsOptions) error {
	switch _, err := st.Get(credToken); {
	case err == nil && !o.force:
		return fmt.Errorf("an access token is already stored as %s in %s; `cco credentials new-token --force` "+
			"replaces it (clients that send the old one will be refused)", credToken, st.Where())
	case err != nil && !errors.Is(err, credentials.ErrNotFound):
		return err
	}
	raw := make([]byte, 32)
	defer clear(raw)
	if _, err := io.ReadFull(o.rand, raw); err != nil {
		return fmt.Errorf("make a token: %w", err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	if err := st.Set(credToken, []byte(token)); err != nil {
		return err
	}
	_, err := fmt.Fprintf(sys.Stdout, "%s\n\n"+
		"Stored as %s in %s (`cco credentials get %s --reveal` prints it again).\n"+
		"Remote clients send it in the %s header; for Claude Code:\n"+
		"  ANTHROPIC_CUSTOM_HEADERS=\"%s: %s\"\n",
		token, credToken, st.Where(), credToken, tokenHeader, tokenHeader, token)
	return err
}

// interspersedFlags parses the command's flags again among its arguments,
// which urfave/cli leaves alone after the first one, and returns the
// arguments that are not flags.
func interspersedFlags(c *cli.Context) ([]string, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("credentials "+c.Command.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, f := range c.Command.Flags {
		if err := f.Apply(fs); err != nil {
			return nil, nil, err
		}
	}
	var positional []string
	for args := c.Args().Slice(); len(args) > 0; {
		if err := fs.Parse(args); err != nil {
			return nil, nil, usageError{err}
		}
		args = fs.Args()
		if len(args) > 0 {
			positional = append(positional, args[0])
			args = args[1:]
		}
	}
	return positional, fs, nil
}
