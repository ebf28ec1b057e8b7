package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// jobFlags set fields of a job definition. create applies them to a new
// job, set to a stored one; only flags given on the command line count.
type jobFlags struct {
	Image, Tag, Registry, Description          string
	ImagePullSecrets, EnvFromSecrets           []string
	Env, Params, RequiredParams, Files, Labels []string
	Memory, CPU, RequestsMemory, RequestsCPU   string
	Timeout, Retention, ServiceAccount         string
	RetentionFailed                            string
	Notify, NotifyOn                           []string
	NotifyFormat                               string
	Retries                                    int32
	AllowTagOverride                           bool
	ConcurrencyPolicy                          string
	MaxActiveRuns                              int32
	SucceededHistory, FailedHistory            int32
	MaxRunsPerMinute                           int32
	Tasks, Parallelism                         int32
	Args                                       []string
	// Command is what follows "--" on the command line.
	Command []string
	paramTypeFlags
	scheduleFlags
	// Only for set.
	UnsetEnv, UnsetParams, UnsetFiles, UnsetLabels []string
	UnsetCommand                                   bool
	UnsetNotify                                    []string
	RotateSigningSecret                            bool

	// set holds the flags above; a flag counts when it was given.
	set *pflag.FlagSet
	// readFile reads a local file for --file (a test seam).
	readFile func(path string) ([]byte, error)
}

// addFlags registers the flags on fs; forSet adds the --unset-* flags.
func (f *jobFlags) addFlags(target *pflag.FlagSet, forSet bool) {
	f.readFile = readLocalFile
	f.set = pflag.NewFlagSet("job", pflag.ContinueOnError)
	fs := f.set
	defer target.AddFlagSet(fs)
	fs.StringVar(&f.Image, "image", "", "Image: a full reference (ghcr.io/acme/migrate:1.4), or the repository within --registry (migrate)")
	fs.StringVar(&f.Tag, "tag", "", "Image tag (default latest); runs may override it")
	fs.Int32Var(&f.Tasks, "tasks", 0, "Run each run as this many tasks (an Indexed Job); each gets SHIPJOB_TASK_INDEX and SHIPJOB_TASK_COUNT, --retries count per task")
	fs.Int32Var(&f.Parallelism, "parallelism", 0, "Tasks running at once (0: all)")
	fs.StringVar(&f.ConcurrencyPolicy, "concurrency-policy", "", "While runs are active, a trigger: Allow (default) starts another, Forbid is refused, Replace cancels them first")
	fs.Int32Var(&f.MaxActiveRuns, "max-active-runs", jobdef.DefaultMaxActiveRuns, "Refuse a trigger while this many runs are active (0: no limit)")
	fs.Int32Var(&f.SucceededHistory, "succeeded-runs-history-limit", jobdef.DefaultRunsHistoryLimit, "Keep at most this many succeeded runs: each trigger deletes older ones, whatever --retention (0: keep none)")
	fs.Int32Var(&f.FailedHistory, "failed-runs-history-limit", jobdef.DefaultRunsHistoryLimit, "Keep at most this many failed and cancelled runs: each trigger deletes older ones, whatever --retention-failed (0: keep none)")
	fs.Int32Var(&f.MaxRunsPerMinute, "max-runs-per-minute", jobdef.DefaultMaxRunsPerMinute, "Refuse triggers beyond this many per minute, counted across every CLI and hook server (0: no limit)")
	fs.BoolVar(&f.AllowTagOverride, "allow-tag-override", false, "Let runs of a job pinned to a digest choose a tag (run --tag, a hook's imageTag); off: the pin holds")
	fs.StringVar(&f.Registry, "registry", "", "Registry added with 'kubectl shipjob registry add': prefixes --image and pulls it")
	stringArrayVar(fs, &f.ImagePullSecrets, "image-pull-secret", "", "Existing Secret to pull the image with (repeatable; set replaces the list)")
	stringArrayVar(fs, &f.Env, "env", "", "Static environment variable NAME=VALUE (repeatable)")
	stringArrayVar(fs, &f.EnvFromSecrets, "env-from-secret", "", "Secret whose keys become environment variables (repeatable; set replaces the list)")
	stringArrayVar(fs, &f.Params, "param", "", "Default parameter NAME=DEFAULT: an env var each run may override (repeatable; recorded in clear on every run unless --secret-param NAME)")
	stringArrayVar(fs, &f.RequiredParams, "required-param", "", "Parameter NAME each run must give, with no default (repeatable)")
	f.addParamTypeFlags(fs)
	stringArrayVar(fs, &f.Files, "file", "", "Mount a local file read-only: /abs/path/in/container=./local/file (repeatable)")
	fs.StringVar(&f.Memory, "memory", "", "Memory limit (default "+jobdef.DefaultMemory+")")
	fs.StringVar(&f.CPU, "cpu", "", "CPU limit (default "+jobdef.DefaultCPU+")")
	fs.StringVar(&f.RequestsMemory, "requests-memory", "", "Memory request (default: the limit)")
	fs.StringVar(&f.RequestsCPU, "requests-cpu", "", "CPU request (default: the limit)")
	fs.StringVar(&f.Timeout, "timeout", "", "Fail a run still running after this long, e.g. 90s, 15m, 2h, or none (default "+jobdef.DefaultTimeout+")")
	fs.StringVar(&f.Retention, "retention", "", "Keep finished runs this long, e.g. 24h, 14d, or none to keep them (default "+jobdef.DefaultRetention+")")
	fs.StringVar(&f.RetentionFailed, "retention-failed", "", "Keep failed and cancelled runs this long instead (default: --retention). The hook server applies it when a run ends; without a server every run is kept the longer of the two")
	stringArrayVar(fs, &f.Notify, "notify", "", "Webhook URL the hook server POSTs to when a run ends, signed with the job's signing secret (repeatable; shown once when first made)")
	stringSliceVar(fs, &f.NotifyOn, "notify-on", "", "Outcomes that notify the --notify URLs of this command: succeeded, failed, cancelled (default all)")
	fs.StringVar(&f.NotifyFormat, "notify-format", "", "Body of the --notify URLs of this command: json (default) or slack (Slack, Mattermost, Rocket.Chat incoming webhooks)")
	fs.Int32Var(&f.Retries, "retries", 0, "Failed attempts retried before a run fails (backoffLimit)")
	fs.StringVar(&f.ServiceAccount, "service-account", "", "ServiceAccount the run's pod uses")
	stringArrayVar(fs, &f.Labels, "label", "l", "Label key=value of the job, also put on its runs (repeatable)")
	fs.StringVar(&f.Description, "description", "", "Free text shown by 'list -o wide' and 'get'")
	stringArrayVar(fs, &f.Args, "arg", "", "Argument to the entrypoint or command (repeatable; set replaces the list)")
	f.addScheduleFlags(fs, forSet)
	if !forSet {
		return
	}
	stringArrayVar(fs, &f.UnsetEnv, "unset-env", "", "Remove a static environment variable (repeatable)")
	stringArrayVar(fs, &f.UnsetParams, "unset-param", "", "Remove a parameter (repeatable)")
	stringArrayVar(fs, &f.UnsetFiles, "unset-file", "", "Remove the file mounted at this path (repeatable)")
	stringArrayVar(fs, &f.UnsetLabels, "unset-label", "", "Remove a label (repeatable)")
	fs.BoolVar(&f.UnsetCommand, "unset-command", false, "Use the image's entrypoint again (clears the command)")
	stringArrayVar(fs, &f.UnsetNotify, "unset-notify", "", "Remove the notification to this webhook URL (repeatable)")
	fs.BoolVar(&f.RotateSigningSecret, "rotate-signing-secret", false, "Replace the job's notification signing secret and show the new one once")
}

func (f *jobFlags) changed(name string) bool {
	fl := f.set.Lookup(name)
	return fl != nil && fl.Changed
}

// given reports whether any job flag (or a command after "--") was given.
func (f *jobFlags) given() bool {
	given := len(f.Command) > 0
	f.set.VisitAll(func(fl *pflag.Flag) { given = given || fl.Changed })
	return given
}

// apply sets the given flags' fields on j. It reads --file contents but
// does not validate the result: callers run j.Validate.
func (f *jobFlags) apply(j *jobdef.Job) error {
	s := &j.Spec
	if err := f.applyLabels(j); err != nil {
		return err
	}
	setIf(f.changed("description"), &s.Description, f.Description)
	setIf(f.changed("registry"), &s.Registry, f.Registry)
	setIf(f.changed("allow-tag-override"), &s.AllowTagOverride, f.AllowTagOverride)
	setIf(f.changed("tasks"), &s.Tasks, f.Tasks)
	setIf(f.changed("parallelism"), &s.Parallelism, f.Parallelism)
	setIf(f.changed("concurrency-policy"), &s.ConcurrencyPolicy, jobdef.ConcurrencyPolicy(f.ConcurrencyPolicy))
	if f.changed("max-active-runs") {
		m := f.MaxActiveRuns
		s.MaxActiveRuns = &m
	}
	for _, l := range []struct {
		flag string
		v    int32
		dst  **int32
	}{{"succeeded-runs-history-limit", f.SucceededHistory, &s.SucceededRunsHistoryLimit},
		{"failed-runs-history-limit", f.FailedHistory, &s.FailedRunsHistoryLimit},
		{"max-runs-per-minute", f.MaxRunsPerMinute, &s.MaxRunsPerMinute}} {
		if f.changed(l.flag) {
			v := l.v
			*l.dst = &v
		}
	}
	if err := f.applyImage(s); err != nil {
		return err
	}
	if f.changed("image-pull-secret") {
		s.ImagePullSecrets = nonEmpty(f.ImagePullSecrets)
	}
	if f.changed("env-from-secret") {
		s.EnvFromSecrets = nonEmpty(f.EnvFromSecrets)
	}
	if err := f.applyEnv(s); err != nil {
		return err
	}
	if err := f.applyFiles(s); err != nil {
		return err
	}
	setIf(f.changed("memory"), &s.Resources.Memory, f.Memory)
	setIf(f.changed("cpu"), &s.Resources.CPU, f.CPU)
	setIf(f.changed("requests-memory"), &s.Resources.RequestsMemory, f.RequestsMemory)
	setIf(f.changed("requests-cpu"), &s.Resources.RequestsCPU, f.RequestsCPU)
	setIf(f.changed("timeout"), &s.Timeout, f.Timeout)
	setIf(f.changed("retention"), &s.Retention, f.Retention)
	setIf(f.changed("retention-failed"), &s.RetentionFailed, f.RetentionFailed)
	if err := f.applyNotify(s); err != nil {
		return err
	}
	if err := f.applySchedules(s); err != nil {
		return err
	}
	setIf(f.changed("retries"), &s.Retries, f.Retries)
	setIf(f.changed("service-account"), &s.ServiceAccountName, f.ServiceAccount)
	if f.UnsetCommand {
		s.Command = nil
	}
	if len(f.Command) > 0 {
		s.Command = slices.Clone(f.Command)
	}
	if f.changed("arg") {
		s.Args = nonEmpty(f.Args)
	}
	return nil
}

// applyLabels removes --unset-label keys and sets --label pairs.
func (f *jobFlags) applyLabels(j *jobdef.Job) error {
	for _, k := range f.UnsetLabels {
		delete(j.Labels, k)
	}
	labels := seenSet{}
	for _, kv := range f.Labels {
		k, v, err := splitPair("--label", "key=value", kv)
		if err == nil {
			err = labels.add("label", k)
		}
		if err != nil {
			return err
		}
		if j.Labels == nil {
			j.Labels = map[string]string{}
		}
		j.Labels[k] = v
	}
	return nil
}

// applyImage sets the repository, and the tag or digest when the reference
// has one; --tag sets the tag alone.
func (f *jobFlags) applyImage(s *jobdef.Spec) error {
	if f.changed("image") {
		repo, tag, digest, err := jobdef.SplitImage(f.Image)
		if err != nil {
			return err
		}
		if tag != "" && f.changed("tag") {
			return fmt.Errorf("the image tag is given twice: in --image %q and --tag %q", f.Image, f.Tag)
		}
		s.Image = repo
		if tag != "" || digest != "" {
			s.Tag, s.Digest = tag, digest
		}
	}
	if f.changed("tag") {
		s.Tag, s.Digest = f.Tag, ""
	}
	return nil
}

func (f *jobFlags) applyEnv(s *jobdef.Spec) error {
	s.Env = slices.DeleteFunc(s.Env, func(e jobdef.EnvVar) bool { return slices.Contains(f.UnsetEnv, e.Name) })
	s.Parameters = slices.DeleteFunc(s.Parameters, func(p jobdef.Parameter) bool { return slices.Contains(f.UnsetParams, p.Name) })
	envs, params := seenSet{}, seenSet{}
	for _, kv := range f.Env {
		k, v, err := splitPair("--env", "NAME=VALUE", kv)
		if err == nil {
			err = envs.add("env", k)
		}
		if err != nil {
			return err
		}
		s.Env = upsert(s.Env, jobdef.EnvVar{Name: k, Value: v}, func(e jobdef.EnvVar) string { return e.Name })
	}
	paramName := func(p jobdef.Parameter) string { return p.Name }
	for _, kv := range f.Params {
		k, v, err := splitPair("--param", "NAME=DEFAULT", kv)
		if err == nil {
			err = params.add("parameter", k)
		}
		if err != nil {
			return err
		}
		s.Parameters = upsert(s.Parameters, withDefault(s.Parameters, k, v, false), paramName)
	}
	for _, k := range f.RequiredParams {
		if err := params.add("parameter", k); err != nil {
			return err
		}
		s.Parameters = upsert(s.Parameters, withDefault(s.Parameters, k, "", true), paramName)
	}
	return f.applyParamTypes(s)
}

func (f *jobFlags) applyFiles(s *jobdef.Spec) error {
	s.Files = slices.DeleteFunc(s.Files, func(fl jobdef.File) bool { return slices.Contains(f.UnsetFiles, fl.Path) })
	paths := seenSet{}
	for _, spec := range f.Files {
		target, local, err := splitPair("--file", "/path/in/container=./local/file", spec)
		if err == nil {
			err = paths.add("file path", target)
		}
		if err != nil {
			return err
		}
		if local == "" {
			return fmt.Errorf("invalid --file %q: no local file after '='", spec)
		}
		data, err := f.readFile(local)
		if err != nil {
			return fmt.Errorf("cannot read --file %s: %w", spec, err)
		}
		file := jobdef.File{Path: target}
		if utf8.Valid(data) {
			file.Content = string(data)
		} else {
			file.BinaryContent = data
		}
		s.Files = upsert(s.Files, file, func(fl jobdef.File) string { return fl.Path })
	}
	return nil
}

// readLocalFile reads at most what fits in a job's Secret.
func readLocalFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, jobdef.MaxSecretBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > jobdef.MaxSecretBytes {
		return nil, fmt.Errorf("file too large: a job's files must fit in %d KiB in total", jobdef.MaxSecretBytes>>10)
	}
	return data, nil
}

// seenSet catches a name given twice on one command line, which would
// otherwise silently keep the last value.
type seenSet map[string]bool

func (s seenSet) add(what, name string) error {
	if s[name] {
		return fmt.Errorf("%s %q is given twice", what, name)
	}
	s[name] = true
	return nil
}

// splitPair splits "key=value"; the key must not be empty.
func splitPair(flag, want, s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("invalid %s %q: want %s", flag, s, want)
	}
	return k, v, nil
}

// upsert replaces the item with the same key, or appends it.
func upsert[T any](items []T, item T, key func(T) string) []T {
	for i := range items {
		if key(items[i]) == key(item) {
			items[i] = item
			return items
		}
	}
	return append(items, item)
}

func setIf[T any](changed bool, dst *T, v T) {
	if changed {
		*dst = v
	}
}

// nonEmpty drops empty strings, so "--flag=" clears a list.
func nonEmpty(in []string) []string {
	out := slices.DeleteFunc(slices.Clone(in), func(s string) bool { return s == "" })
	if len(out) == 0 {
		return nil
	}
	return out
}

var errNoChanges = errors.New("no changes given: use flags like --image, --tag, --env or --timeout (see --help)")

// applyNotify removes the --unset-notify URLs, then adds (or replaces) the
// --notify URLs with this command's --notify-on and --notify-format.
func (f *jobFlags) applyNotify(s *jobdef.Spec) error {
	for _, u := range f.UnsetNotify {
		i := slices.IndexFunc(s.Notifications, func(n jobdef.Notification) bool { return n.URL == u })
		if i < 0 {
			return fmt.Errorf("--unset-notify: the job has no notification to that URL")
		}
		s.Notifications = slices.Delete(s.Notifications, i, i+1)
	}
	if (f.changed("notify-on") || f.changed("notify-format")) && len(f.Notify) == 0 {
		return errors.New("--notify-on and --notify-format apply to the --notify URLs of the same command: give --notify URL")
	}
	var on []jobdef.Outcome
	for _, o := range f.NotifyOn {
		on = append(on, jobdef.Outcome(strings.TrimSpace(o)))
	}
	seen := seenSet{}
	for _, u := range f.Notify {
		if err := seen.add("--notify URL", u); err != nil {
			return err
		}
		s.Notifications = upsert(s.Notifications, jobdef.Notification{URL: u, On: on, Format: f.NotifyFormat},
			func(n jobdef.Notification) string { return n.URL })
	}
	return nil
}
