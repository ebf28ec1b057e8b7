package commands

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunParamsFromFilesAndEnv (review N10 d): values of --param-file and
// --param-from-env; bad input is one line naming the flag.
func TestRunParamsFromFilesAndEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	token, multi, big := write("token", "s3cr3t\n"), write("multi", "a\nb\n\n"), write("big", strings.Repeat("x", maxParamFile+1))
	env := map[string]string{"TOKEN_VAR": "from-env", "EMPTY_VAR": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := map[string]struct {
		in      runParams
		want    map[string]string
		wantErr string
	}{
		"all three": {in: runParams{Params: []string{"A=1"}, Files: []string{"TOKEN=" + token, "M=" + multi}, FromEnv: []string{"E=TOKEN_VAR", "Z=EMPTY_VAR"}},
			want: map[string]string{"A": "1", "TOKEN": "s3cr3t", "M": "a\nb\n", "E": "from-env", "Z": ""}},
		"missing file": {in: runParams{Files: []string{"TOKEN=" + dir + "/nope"}},
			wantErr: "invalid --param-file TOKEN=" + dir + "/nope: open " + dir + "/nope: no such file or directory"},
		"file too big":  {in: runParams{Files: []string{"T=" + big}}, wantErr: "invalid --param-file T=" + big + ": " + big + " is larger than 1048576 bytes"},
		"a directory":   {in: runParams{Files: []string{"T=" + dir}}, wantErr: "invalid --param-file T=" + dir + ": read " + dir + ": "},
		"no path":       {in: runParams{Files: []string{"T="}}, wantErr: `invalid --param-file "T=": want NAME=PATH`},
		"unset var":     {in: runParams{FromEnv: []string{"TOKEN=NOPE_VAR"}}, wantErr: "invalid --param-from-env TOKEN=NOPE_VAR: environment variable NOPE_VAR is not set"},
		"no var":        {in: runParams{FromEnv: []string{"TOKEN"}}, wantErr: `invalid --param-from-env "TOKEN": want NAME=VARIABLE`},
		"bad param":     {in: runParams{Params: []string{"=x"}}, wantErr: `invalid --param "=x": want NAME=VALUE`},
		"dup in param":  {in: runParams{Params: []string{"A=1", "A=2"}}, wantErr: `parameter "A" is given twice`},
		"dup with file": {in: runParams{Params: []string{"TOKEN=x"}, Files: []string{"TOKEN=" + token}}, wantErr: `parameter "TOKEN" is given twice`},
		"dup with env":  {in: runParams{Files: []string{"TOKEN=" + token}, FromEnv: []string{"TOKEN=TOKEN_VAR"}}, wantErr: `parameter "TOKEN" is given twice`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := tc.in.read(lookup)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line starting %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
