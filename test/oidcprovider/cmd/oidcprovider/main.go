// Command oidcprovider runs the test OpenID Connect provider by hand: it
// prints the issuer URL and writes its CA certificate to a file, then
// serves until Ctrl-C. Users alice@example.com and bob@example.com,
// password "password"; client shipjob-console / console-secret.
//
//	go run ./test/oidcprovider/cmd/oidcprovider --listen 127.0.0.1:5556 --ca-file /tmp/oidc-ca.crt
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/shipjob/kubectl-shipjob/test/oidcprovider"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "oidcprovider:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	caFile := flag.String("ca-file", "oidc-ca.crt", "where to write the provider's CA certificate (PEM)")
	lifetime := flag.Duration("id-token-lifetime", oidcprovider.DefaultIDTokenLifetime, "lifetime of ID tokens")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := oidcprovider.Start(oidcprovider.Options{Addr: *listen, IDTokenLifetime: *lifetime})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := os.WriteFile(*caFile, p.CAPEM, 0o644); err != nil {
		return fmt.Errorf("write CA: %w", err)
	}
	fmt.Printf("issuer %s\nca-file %s\nclient %s / %s\nusers alice@example.com, bob@example.com (password %q); Ctrl-C stops\n",
		p.Issuer, *caFile, oidcprovider.ClientID, oidcprovider.ClientSecret, oidcprovider.Password)
	<-ctx.Done()
	return nil
}
