package oidcprovider

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func startProvider(t *testing.T) *Provider {
	t.Helper()
	p, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// verifiedClaims checks the ID token's signature against the provider's
// published key set and returns its claims.
func verifiedClaims(t *testing.T, p *Provider, idToken string) map[string]any {
	t.Helper()
	resp, err := p.HTTPClient().Get(p.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Issuer  string   `json:"issuer"`
		JWKS    string   `json:"jwks_uri"`
		Methods []string `json:"code_challenge_methods_supported"`
	}
	err = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if err != nil || disc.Issuer != p.Issuer || !slices.Contains(disc.Methods, "S256") {
		t.Fatalf("discovery: %+v, %v", disc, err)
	}
	resp, err = p.HTTPClient().Get(disc.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	err = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: %d keys, %v", len(set.Keys), err)
	}
	sig, err := jose.ParseSigned(idToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := sig.Verify(set.Keys[0])
	if err != nil {
		t.Fatalf("ID token signature: %v", err)
	}
	claims := map[string]any{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestSignInIssuesIDTokenWithEmailAndGroups(t *testing.T) {
	p := startProvider(t)
	ctx := context.Background()
	for _, u := range Users {
		tok, err := p.SignIn(ctx, SignIn{Username: u.Email, Password: Password})
		if err != nil {
			t.Fatalf("%s: %v", u.Email, err)
		}
		c := verifiedClaims(t, p, tok.IDToken)
		if c["iss"] != p.Issuer || c["aud"] == nil || c["email"] != u.Email || c["email_verified"] != true || c["sub"] != u.Email {
			t.Errorf("%s: claims %v", u.Email, c)
		}
		if aud, _ := c["aud"].([]any); !slices.Contains(aud, any(ClientID)) {
			t.Errorf("%s: aud %v", u.Email, c["aud"])
		}
		groups, _ := c["groups"].([]any)
		if len(groups) != 1 || groups[0] != u.Groups[0] {
			t.Errorf("%s: groups %v, want %v", u.Email, c["groups"], u.Groups)
		}
		if n, _ := c["nonce"].(string); n == "" {
			t.Errorf("%s: no nonce", u.Email)
		}
		if tok.RefreshToken != "" {
			t.Errorf("%s: refresh token without offline_access", u.Email)
		}
	}
}

func TestSignInRefusals(t *testing.T) {
	p := startProvider(t)
	for _, tc := range []struct {
		name string
		in   SignIn
		want string
	}{
		{"wrong password", SignIn{Username: "alice@example.com", Password: "nope"}, "401"},
		{"unknown user", SignIn{Username: "mallory@example.com", Password: Password}, "401"},
		{"wrong client secret", SignIn{ClientID: ClientID, ClientSecret: "x", Username: "alice@example.com", Password: Password}, "token"},
		{"unknown client", SignIn{ClientID: "nobody", ClientSecret: "x", Username: "alice@example.com", Password: Password}, "authorize"},
		{"redirect not registered", SignIn{RedirectURI: "https://evil.example/oauth2/callback", Username: "alice@example.com", Password: Password}, "authorize"},
		{"redirect path not registered", SignIn{RedirectURI: "http://127.0.0.1:8080/other", Username: "alice@example.com", Password: Password}, "authorize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := p.SignIn(context.Background(), tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, %v; want an error containing %q", tok, err, tc.want)
			}
		})
	}
}

func TestPKCEVerifierIsChecked(t *testing.T) {
	p := startProvider(t)
	// A code exchanged without the verifier is refused.
	tok, err := p.token(context.Background(), p.HTTPClient(), ClientID, ClientSecret,
		map[string][]string{"grant_type": {"authorization_code"}, "code": {"made-up"}, "redirect_uri": {"http://127.0.0.1:1/oauth2/callback"}})
	if err == nil {
		t.Fatalf("made-up code exchanged: %+v", tok)
	}
}

func TestRefreshTokenWithOfflineAccess(t *testing.T) {
	p := startProvider(t)
	ctx := context.Background()
	tok, err := p.SignIn(ctx, SignIn{Username: "bob@example.com", Password: Password,
		Scopes: []string{"openid", "email", ScopeGroups, "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	next, err := p.Refresh(ctx, ClientID, ClientSecret, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if c := verifiedClaims(t, p, next.IDToken); c["email"] != "bob@example.com" {
		t.Errorf("refreshed claims %v", c)
	}
	if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Error("refresh token not rotated")
	}
	if _, err := p.Refresh(ctx, ClientID, ClientSecret, tok.RefreshToken); err == nil {
		t.Error("a used refresh token was accepted again")
	}
}

func TestIDTokenLifetime(t *testing.T) {
	p := startProvider(t)
	restore := p.SetIDTokenLifetime(3 * time.Second)
	tok, err := p.SignIn(context.Background(), SignIn{Username: "alice@example.com", Password: Password})
	restore()
	if err != nil {
		t.Fatal(err)
	}
	c := verifiedClaims(t, p, tok.IDToken)
	exp, _ := c["exp"].(float64)
	if left := time.Until(time.Unix(int64(exp), 0)); left > 4*time.Second || left < -time.Second {
		t.Errorf("ID token expires in %s, want about 3s", left)
	}
}

func TestLoginPageHasTheFormFields(t *testing.T) {
	p := startProvider(t)
	resp, err := p.HTTPClient().Get(p.Issuer + "/login?id=x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`id="username"`, `id="password"`, `id="submit"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
}
