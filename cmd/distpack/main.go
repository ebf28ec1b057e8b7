// Command distpack packs release archives and renders the Krew manifest
// (`make dist`). It needs nothing but Go, so release builds don't depend on
// the tar and zip flavours of the machine.
//
//	distpack archive -o dist/kubectl-shipjob_v1.2.3_linux_amd64.tar.gz FILE...
//	distpack manifest -template krew/shipjob.yaml.tmpl -version v1.2.3 \
//	    -url https://example.com/releases/v1.2.3/ -o krew/shipjob.yaml ARCHIVE...
//	distpack validate -manifest krew/shipjob.yaml -dir dist -url https://... \
//	    -validator validate-krew-manifest -krew krew
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "archive":
		err = archiveCmd(os.Args[2:])
	case "manifest":
		err = manifestCmd(os.Args[2:])
	case "validate":
		err = validateCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "distpack:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: distpack archive|manifest|validate [flags] ... (see the package doc)")
	os.Exit(2)
}
