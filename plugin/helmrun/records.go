package helmrun

import (
	"context"
	"fmt"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	"helm.sh/helm/v3/pkg/storage/driver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/charts"
)

// deleteReleaseRecords deletes the job's Helm release records (Secrets
// labelled owner=helm, name=job, of Helm's release type), one Delete by
// name each (the verb "delete", as pruning). Only records that decode as a release of the run chart named
// like the job are deleted; any other (an application's release of that
// name, or something unreadable) is left alone. Nothing of a record's
// content is acted on.
func deleteReleaseRecords(ctx context.Context, client kubernetes.Interface, ns, job string, dry run.DryRun) error {
	list, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{
		LabelSelector: "owner=helm,name=" + job,
		FieldSelector: "type=" + releaseSecretType,
	})
	if err != nil {
		return fmt.Errorf("list the Helm release records of job %s: %w", job, err)
	}
	var keys []string
	for i := range list.Items {
		sec := &list.Items[i]
		rel, err := driver.NewSecrets(fixedSecret{secret: sec}).Get(sec.Name)
		if err != nil || rel.Name != job || rel.Chart == nil || rel.Chart.Metadata == nil || rel.Chart.Metadata.Name != charts.RunChartName {
			continue
		}
		keys = append(keys, sec.Name)
	}
	if dry == run.DryRunClient || len(keys) == 0 {
		return nil
	}
	if _, err := deleteRecordsByName(ctx, client.CoreV1().Secrets(ns), keys, metav1.DeleteOptions{DryRun: dry.API()}); err != nil {
		return fmt.Errorf("delete the Helm release of job %s: %w", job, err)
	}
	return nil
}

// releaseSecretType is the type of Helm's release record Secrets.
const releaseSecretType = "helm.sh/release.v1"

// checkOwnRelease refuses a release whose history holds a record of
// another chart than the run chart (review N13): a job shares its name
// with its Helm release, and an application's release of that name must
// never be upgraded, pruned or deleted by a trigger. It reads the history
// (once per trigger, from the cache) and writes nothing.
func checkOwnRelease(cache *releaseCache, ns string) error {
	if err := cache.load(); err != nil {
		return fmt.Errorf("read release %s: %w", cache.name, err)
	}
	for _, r := range cache.byKey {
		name := ""
		if r.Chart != nil && r.Chart.Metadata != nil {
			name = r.Chart.Metadata.Name
		}
		if name != charts.RunChartName {
			return &run.ForeignReleaseError{Namespace: ns, Release: cache.name, Chart: name, Want: charts.RunChartName}
		}
	}
	return nil
}
