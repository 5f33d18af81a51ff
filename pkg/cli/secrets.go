package cli

import (
	"errors"
	"fmt"

	"github.com/visiquate/cco/pkg/credentials"
	"github.com/visiquate/cco/pkg/secret"
)

// runSecrets are the credentials `cco run` uses, and where each came from.
type runSecrets struct {
	APIKey, Token secret.Secret
	// APIKeySource and TokenSource say where the value came from, such as
	// "credential anthropic-api-key (Secret Service)", "env
	// ANTHROPIC_API_KEY" or "none".
	APIKeySource, TokenSource string
	// Store is where the credentials are kept, such as "the Secret
	// Service".
	Store string
}

// loadRunSecrets finds the Anthropic API key (credential anthropic-api-key,
// else env ANTHROPIC_API_KEY) and the access token for remote clients
// (credential server-token, else env CCO_SERVER_TOKEN). A store that cannot
// be read is an error; an empty one is not, and reading creates nothing.
func loadRunSecrets(sys *System, lc *loadedConfig) (runSecrets, error) {
	st, err := openCredentials(sys, lc)
	if err != nil {
		return runSecrets{}, err
	}
	rs := runSecrets{Store: st.Where()}
	if rs.APIKey, rs.APIKeySource, err = findSecret(sys, st, credAPIKey, "ANTHROPIC_API_KEY"); err != nil {
		return runSecrets{}, err
	}
	if rs.Token, rs.TokenSource, err = findSecret(sys, st, credToken, "CCO_SERVER_TOKEN"); err != nil {
		return runSecrets{}, err
	}
	return rs, nil
}

// findSecret reads credential name, else the environment variable env.
func findSecret(sys *System, st credentialStore, name, env string) (secret.Secret, string, error) {
	v, err := st.Get(name)
	switch {
	case err == nil:
		return v, fmt.Sprintf("credential %s (%s)", name, st.Label()), nil
	case !errors.Is(err, credentials.ErrNotFound):
		return secret.Secret{}, "", err
	}
	if v, ok := sys.LookupEnv(env); ok && v != "" {
		return secret.New(v), "env " + env, nil
	}
	return secret.Secret{}, "none", nil
}
