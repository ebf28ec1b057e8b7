package commands

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// maxParamFile bounds a --param-file: a run's parameters fit in its
// annotations and Helm record (the trigger checks the exact limit).
const maxParamFile = 1 << 20

// runParams are the parameter values of a run, from the command line
// (--param NAME=VALUE), a file (--param-file NAME=PATH) or an environment
// variable (--param-from-env NAME=VAR). Values from files and the
// environment stay off the process's argv (ps, shell history): use them
// for secret parameters.
type runParams struct {
	Params, Files, FromEnv []string
}

// read returns the values by name. A name given twice (also by two
// flags), a file that cannot be read and a variable that is not set are
// errors. A file's content is the value, less one trailing newline.
func (f runParams) read(lookupEnv func(string) (string, bool)) (map[string]string, error) {
	out := map[string]string{}
	add := func(flag, kv string, value func(k, v string) (string, error)) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || (flag != "--param" && v == "") {
			return fmt.Errorf("invalid %s %q: want %s", flag, kv, map[string]string{
				"--param": "NAME=VALUE", "--param-file": "NAME=PATH", "--param-from-env": "NAME=VARIABLE"}[flag])
		}
		if _, dup := out[k]; dup {
			return fmt.Errorf("parameter %q is given twice", k)
		}
		val, err := value(k, v)
		if err != nil {
			return fmt.Errorf("invalid %s %s: %w", flag, kv, err)
		}
		out[k] = val
		return nil
	}
	for _, kv := range f.Params {
		if err := add("--param", kv, func(_, v string) (string, error) { return v, nil }); err != nil {
			return nil, err
		}
	}
	for _, kv := range f.Files {
		if err := add("--param-file", kv, func(_, path string) (string, error) { return readParamFile(path) }); err != nil {
			return nil, err
		}
	}
	for _, kv := range f.FromEnv {
		if err := add("--param-from-env", kv, func(_, name string) (string, error) {
			v, ok := lookupEnv(name)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			return v, nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readParamFile(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, maxParamFile+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxParamFile {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxParamFile)
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}
