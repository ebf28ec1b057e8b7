package console

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
)

// The console's own pages: sign in, signed out, a refused sign-in. They
// use the UI's style sheet and no script.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · shipjob</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
</head>
<body>
<aside class="sidebar">
  <a class="brand" href="/"><img src="/static/icon.svg" alt="" width="22" height="22"> shipjob</a>
  <p class="sidebar-foot">Team console: your requests are made as you; the API server decides what you may do.</p>
</aside>
<main>
<header class="page-head"><div><h1>{{.Title}}</h1></div></header>
<div class="problem">
  {{with .Message}}<p class="problem-message">{{.}}</p>{{end}}
  <p><a class="btn btn-primary" id="sign-in" href="{{.Login}}">Sign in</a></p>
</div>
</main>
</body>
</html>
`))

type pageData struct {
	Title, Message string
	Login          string
}

func (c *Console) render(w http.ResponseWriter, code int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := pageTmpl.Execute(w, d); err != nil {
		c.cfg.Log.Warn("console page", "err", err.Error())
	}
}

func loginURL(next string) string {
	return loginPath + "?next=" + url.QueryEscape(localNext(next))
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, pageData{Title: "Sign in", Message: "Sign in with your organization's account to use the shipjob console.",
		Login: loginURL(r.URL.Query().Get("next"))})
}

func (c *Console) signedOut(w http.ResponseWriter, _ *http.Request) {
	c.render(w, http.StatusOK, pageData{Title: "Signed out", Message: "You are signed out of the shipjob console.", Login: loginURL("/")})
}

// problem is a page for a refused or failed sign-in.
func (c *Console) problem(w http.ResponseWriter, code int, msg string) {
	c.render(w, code, pageData{Title: "Not signed in", Message: msg, Login: loginURL("/")})
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}
