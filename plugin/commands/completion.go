package commands

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Shell completion. Cobra's own `completion` command prints the scripts
// (bash, zsh, fish, powershell) and its hidden `__complete` command answers
// them; kubectl (>= 1.26) calls the kubectl_complete-shipjob script next to
// the plugin, which runs `kubectl-shipjob __complete "$@"`, so `kubectl
// shipjob <TAB>` completes too. Names are listed in the namespace the
// command line selects (-n, --context, --kubeconfig are parsed first).

// completeJobNames completes job names not given yet, for commands that
// take several.
func completeJobNames(flags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return completeNames(flags, true, listJobNames)
}

// completeJobName completes the one job name of commands like edit, set
// and run.
func completeJobName(flags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return completeNames(flags, false, listJobNames)
}

// completeRegistryNames completes registry names.
func completeRegistryNames(flags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return completeNames(flags, true, func(cmd *cobra.Command, t target) ([]string, error) {
		regs, err := t.store(false).ListRegistries(cmd.Context())
		names := make([]string, 0, len(regs))
		for _, r := range regs {
			names = append(names, r.Name)
		}
		return names, err
	})
}

func listJobNames(cmd *cobra.Command, t target) ([]string, error) {
	jobs, err := t.store(false).List(cmd.Context(), "")
	names := make([]string, 0, len(jobs))
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	return names, err
}

func completeNames(flags *genericclioptions.ConfigFlags, many bool, list func(*cobra.Command, target) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if !many && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		t, err := resolveTarget(flags)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		names, err := list(cmd, t)
		if err != nil {
			cobra.CompDebugln("list for completion: "+err.Error(), true)
			return nil, cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) && !slices.Contains(args, n) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeParams completes `run JOB --param`: the job's parameter names
// ("NAME=", no space after), then after "NAME=" the values of its enum (or
// true/false for a boolean).
func completeParams(flags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		t, err := resolveTarget(flags)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		def, err := t.store(false).Get(cmd.Context(), args[0])
		if err != nil {
			cobra.CompDebugln("read job for completion: "+err.Error(), true)
			return nil, cobra.ShellCompDirectiveError
		}
		return paramCompletions(def.Spec.Parameters, toComplete)
	}
}

func paramCompletions(ps []jobdef.Parameter, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	if name, value, ok := strings.Cut(toComplete, "="); ok {
		for _, p := range ps {
			if p.Name != name {
				continue
			}
			values := p.Enum
			if len(values) == 0 && p.TypeName() == jobdef.ParamBoolean {
				values = []string{"true", "false"}
			}
			for _, v := range values {
				if strings.HasPrefix(v, value) {
					out = append(out, name+"="+v)
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	for _, p := range ps {
		if strings.HasPrefix(p.Name, toComplete) {
			out = append(out, cobra.CompletionWithDesc(p.Name+"=", p.Description))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
