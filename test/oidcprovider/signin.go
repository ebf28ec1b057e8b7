package oidcprovider

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SignIn describes a programmatic sign-in: what a browser and a relying
// party do, walked by an HTTP client.
type SignIn struct {
	ClientID, ClientSecret string
	// RedirectURI must be a loopback …/oauth2/callback URL; nothing needs
	// to listen there, the code is taken from the redirect.
	RedirectURI        string
	Username, Password string
	// Scopes; empty means openid, profile, email, groups.
	Scopes []string
}

// Tokens are what the token endpoint answered.
type Tokens struct {
	IDToken      string
	AccessToken  string
	RefreshToken string
	Expiry       time.Time
}

// SignIn walks the authorization code flow with PKCE (S256), state and
// nonce: the authorization request, the login form, the callback, and the
// code exchange at the token endpoint.
func (p *Provider) SignIn(ctx context.Context, in SignIn) (*Tokens, error) {
	if in.ClientID == "" {
		in.ClientID, in.ClientSecret = ClientID, ClientSecret
	}
	if in.RedirectURI == "" {
		in.RedirectURI = "http://127.0.0.1:1/oauth2/callback"
	}
	if len(in.Scopes) == 0 {
		in.Scopes = []string{"openid", "profile", "email", ScopeGroups}
	}
	hc := p.HTTPClient()
	state, nonce, verifier := random43(), random43(), random43()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {in.ClientID}, "redirect_uri": {in.RedirectURI}, "response_type": {"code"},
		"scope": {strings.Join(in.Scopes, " ")}, "state": {state}, "nonce": {nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	loc, err := redirect(ctx, hc, http.MethodGet, p.Issuer+"/authorize?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	if loc.Path != loginPath {
		return nil, fmt.Errorf("authorize redirected to %s, not the login form", loc.Redacted())
	}
	form := url.Values{"id": {loc.Query().Get("id")}, "username": {in.Username}, "password": {in.Password}}
	loc, err = redirect(ctx, hc, http.MethodPost, p.Issuer+loginPath, form)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	loc, err = redirect(ctx, hc, http.MethodGet, p.Issuer+loc.RequestURI(), nil)
	if err != nil {
		return nil, fmt.Errorf("callback: %w", err)
	}
	if got := loc.Query().Get("state"); got != state {
		return nil, fmt.Errorf("callback: state %q, want %q", got, state)
	}
	if e := loc.Query().Get("error"); e != "" {
		return nil, fmt.Errorf("callback: %s: %s", e, loc.Query().Get("error_description"))
	}
	body := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {in.RedirectURI}, "code_verifier": {verifier}}
	return p.token(ctx, hc, in.ClientID, in.ClientSecret, body)
}

// Refresh exchanges a refresh token for new tokens.
func (p *Provider) Refresh(ctx context.Context, clientID, clientSecret, refreshToken string) (*Tokens, error) {
	return p.token(ctx, p.HTTPClient(), clientID, clientSecret,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

func (p *Provider) token(ctx context.Context, hc *http.Client, id, secret string, body url.Values) (*Tokens, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/oauth/token", strings.NewReader(body.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token: %s: %s", resp.Status, data)
	}
	var tr struct {
		IDToken      string `json:"id_token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &tr); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if tr.IDToken == "" {
		return nil, fmt.Errorf("token: no id_token in the answer")
	}
	return &Tokens{IDToken: tr.IDToken, AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken,
		Expiry: time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)}, nil
}

// redirect makes one request and returns where its 302/303 points.
func redirect(ctx context.Context, hc *http.Client, method, target string, form url.Values) (*url.URL, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s %s: %s, want a redirect: %.300s", method, req.URL.Path, resp.Status, data)
	}
	loc, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, req.URL.Path, err)
	}
	return loc, nil
}

func random43() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
