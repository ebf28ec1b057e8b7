package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
)

// platform is one spec.platforms entry of the Krew manifest.
type platform struct {
	OS, Arch, URI, SHA256, Bin string
}

func manifestCmd(args []string) error {
	fs := flag.NewFlagSet("manifest", flag.ExitOnError)
	tmpl := fs.String("template", "krew/shipjob.yaml.tmpl", "manifest template")
	version := fs.String("version", "", "plugin version (v1.2.3)")
	url := fs.String("url", "", "URL prefix the archives are published under")
	out := fs.String("o", "", "manifest to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *version == "" || *url == "" || *out == "" || fs.NArg() == 0 {
		return errors.New("manifest: -version, -url, -o and at least one archive are required")
	}
	data, err := renderManifest(*tmpl, *version, *url, fs.Args())
	if err != nil {
		return err
	}
	return os.WriteFile(*out, data, 0o644)
}

// renderManifest fills the template with one platform per archive, named
// kubectl-shipjob_VERSION_OS_ARCH.tar.gz (or .zip).
func renderManifest(tmplPath, version, url string, archives []string) ([]byte, error) {
	if !strings.HasPrefix(version, "v") {
		return nil, fmt.Errorf("version %q: Krew wants a v prefix", version)
	}
	t, err := template.ParseFiles(tmplPath)
	if err != nil {
		return nil, err
	}
	t.Option("missingkey=error")
	if !strings.HasSuffix(url, "/") {
		url += "/"
	}
	var platforms []platform
	for _, a := range archives {
		p, err := archivePlatform(a, version)
		if err != nil {
			return nil, err
		}
		p.URI = url + filepath.Base(a)
		if p.SHA256, err = fileSHA256(a); err != nil {
			return nil, err
		}
		platforms = append(platforms, p)
	}
	sort.Slice(platforms, func(i, j int) bool {
		return platforms[i].OS+"/"+platforms[i].Arch < platforms[j].OS+"/"+platforms[j].Arch
	})
	var b bytes.Buffer
	err = t.Execute(&b, map[string]any{"Version": version, "Platforms": platforms})
	return b.Bytes(), err
}

func archivePlatform(path, version string) (platform, error) {
	name := filepath.Base(path)
	rest, ok := strings.CutPrefix(name, "kubectl-shipjob_"+version+"_")
	bin := "kubectl-shipjob"
	switch {
	case !ok:
	case strings.HasSuffix(rest, ".tar.gz"):
		rest = strings.TrimSuffix(rest, ".tar.gz")
	case strings.HasSuffix(rest, ".zip"):
		rest = strings.TrimSuffix(rest, ".zip")
		bin += ".exe"
	default:
		ok = false
	}
	goos, arch, found := strings.Cut(rest, "_")
	if !ok || !found || goos == "" || arch == "" {
		return platform{}, fmt.Errorf("%s: want kubectl-shipjob_%s_OS_ARCH.tar.gz or .zip", name, version)
	}
	return platform{OS: goos, Arch: arch, Bin: bin}, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
