package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
	"github.com/shipjob/kubectl-shipjob/test/oidcprovider"
)

// whoami runs the real kubectl with token as its only credential.
func whoami(t *testing.T, token string) cluster.Result {
	t.Helper()
	return cluster.Run(t, "", "kubectl", "--token", token, "auth", "whoami", "-o", "json")
}

// TestOIDCIdentityThroughKubectl: the local API server trusts the test
// provider; ID tokens of alice and bob, got through the provider's login
// form with PKCE, are who they say with real kubectl.
func TestOIDCIdentityThroughKubectl(t *testing.T) {
	idp := cluster.OIDC()
	for _, u := range oidcprovider.Users {
		t.Run(u.Email, func(t *testing.T) {
			tok, err := idp.SignIn(context.Background(), oidcprovider.SignIn{Username: u.Email, Password: oidcprovider.Password})
			if err != nil {
				t.Fatal(err)
			}
			res := whoami(t, tok.IDToken)
			if res.Code != 0 {
				t.Fatalf("kubectl auth whoami: exit %d: %s", res.Code, res.Stderr)
			}
			var review struct {
				Status struct {
					UserInfo struct {
						Username string   `json:"username"`
						Groups   []string `json:"groups"`
					} `json:"userInfo"`
				} `json:"status"`
			}
			if err := json.Unmarshal([]byte(res.Stdout), &review); err != nil {
				t.Fatalf("whoami output: %v\n%s", err, res.Stdout)
			}
			ui := review.Status.UserInfo
			if ui.Username != u.Email || !slices.Contains(ui.Groups, u.Groups[0]) || !slices.Contains(ui.Groups, "system:authenticated") {
				t.Errorf("whoami = %s %v, want %s in %v", ui.Username, ui.Groups, u.Email, u.Groups)
			}
		})
	}
}

// TestOIDCTokensRefused: tokens the API server must not accept.
func TestOIDCTokensRefused(t *testing.T) {
	idp := cluster.OIDC()
	ctx := context.Background()
	alice := oidcprovider.SignIn{Username: "alice@example.com", Password: oidcprovider.Password}
	other := alice
	other.ClientID, other.ClientSecret = oidcprovider.OtherClientID, oidcprovider.OtherClientSecret
	otherTok, err := idp.SignIn(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	good, err := idp.SignIn(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	// An expired one: issued with a 2 s lifetime, used after it ended.
	restore := idp.SetIDTokenLifetime(2 * time.Second)
	short, err := idp.SignIn(ctx, alice)
	restore()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond)
	parts := strings.Split(good.IDToken, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	for _, tc := range []struct{ name, token string }{
		{"wrong audience", otherTok.IDToken},
		{"expired", short.IDToken},
		{"bad signature", tampered},
		{"access token, not an ID token", good.AccessToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := whoami(t, tc.token)
			if res.Code == 0 || !strings.Contains(res.Stderr, "Unauthorized") && !strings.Contains(res.Stderr, "must be logged in") {
				t.Fatalf("kubectl auth whoami: exit %d, stdout %q, stderr %q; want refused", res.Code, res.Stdout, res.Stderr)
			}
		})
	}
	// The same user's valid token still works: the refusals are the tokens'.
	if res := whoami(t, good.IDToken); res.Code != 0 {
		t.Fatalf("valid token refused: %s", res.Stderr)
	}
}
