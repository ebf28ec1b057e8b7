package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// LabelFinished marks a run whose Job has finished, with its outcome:
// "succeeded", or "failed" (cancelled runs too). A trigger sets it once it
// has seen the Job's Complete or Failed condition, which never changes
// again: so later triggers count finished runs from their metadata alone,
// and read whole Jobs only of the runs not marked yet (the active ones and
// those that ended since the last trigger).
const LabelFinished = jobdef.Group + "/finished"

// LabelFinishedOf is set with LabelFinished: the UID of the definition the
// run was made from (its AnnotationJobUID; "unknown" if that is no label
// value). A trigger lists the marked runs of its own definition only, by
// this label: however many runs earlier jobs of the same name left (kept
// by their retention), it reads at most its history limits' worth. Runs
// marked before this label existed have LabelFinished without it: the
// trigger reads them with the unmarked ones and marks them again, a few
// hundred a trigger, until none is left.
const LabelFinishedOf = jobdef.Group + "/finished-of"

// unknownDefinition is LabelFinishedOf of a run whose AnnotationJobUID is
// not a label value (a Job planted with our labels, or edited).
const unknownDefinition = "unknown"

// Outcomes a LabelFinished label holds.
const (
	finishedSucceeded = "succeeded"
	finishedFailed    = "failed"
)

// maxPrunePerTrigger bounds the deletes one trigger makes while it holds
// the job's release: a job that starts with thousands of finished runs
// (kept before its limits existed) is brought down over a few triggers.
const maxPrunePerTrigger = 100

// maxMarkPerTrigger bounds the runs one trigger marks finished: the runs
// that ended since the last trigger are a few; after an upgrade from a
// version without LabelFinishedOf, a job's earlier runs are marked again
// over a few triggers.
const maxMarkPerTrigger = 200

// runSet is what a trigger knows of a job's runs.
type runSet struct {
	// active names the runs that have not finished, oldest first.
	active []string
	// finished are the finished runs of this definition, by outcome.
	finished map[string][]finishedRun
	// foreign are finished runs not marked yet that an earlier job of the
	// name made (or that were planted with its labels): marked with their
	// own definition's UID, they leave both of the trigger's lists.
	foreign []foreignRun
}

// foreignRun is a finished run of another definition, to be marked.
type foreignRun struct {
	finishedRun
	outcome, of string
}

// finishedRun is a finished run as far as pruning needs it.
type finishedRun struct {
	name, resourceVersion string
	uid                   types.UID
	// marked: it carries LabelFinished already.
	marked bool
}

// listRuns lists the runs of def at least as new as resourceVersion rv:
// whole Jobs of the runs not marked finished (without LabelFinishedOf),
// the metadata of the marked runs of def (LabelFinishedOf its UID). Runs
// of earlier definitions of the name, once marked, are not read at all.
func listRuns(ctx context.Context, client kubernetes.Interface, def *jobdef.Job, rv string) (*runSet, error) {
	set := &runSet{finished: map[string][]finishedRun{}}
	// The marked runs' metadata is listed while the unmarked runs are: a
	// trigger waits for the longer of the two round trips, not their sum.
	type markedList struct {
		items []metav1.PartialObjectMetadata
		err   error
	}
	var markedCh chan markedList
	if def.UID != "" && definitionLabel(map[string]string{AnnotationJobUID: string(def.UID)}) == string(def.UID) {
		markedCh = make(chan markedList, 1)
		go func() {
			items, err := listJobMetadata(ctx, client, def.Namespace, Selector(def.Name)+","+LabelFinishedOf+"="+string(def.UID), rv)
			markedCh <- markedList{items, err}
		}()
	}
	opts := metav1.ListOptions{LabelSelector: Selector(def.Name) + ",!" + LabelFinishedOf}
	if rv != "" {
		opts.ResourceVersion, opts.ResourceVersionMatch = rv, metav1.ResourceVersionMatchNotOlderThan
	}
	list, err := client.BatchV1().Jobs(def.Namespace).List(ctx, opts)
	if err != nil {
		if markedCh != nil {
			<-markedCh
		}
		return nil, fmt.Errorf("list active runs of job %s: %w", def.Name, err)
	}
	for i := range list.Items {
		j := &list.Items[i]
		if j.DeletionTimestamp != nil {
			continue
		}
		outcome := ""
		switch {
		case JobCondition(j, batchv1.JobComplete) != nil:
			outcome = finishedSucceeded
		case JobCondition(j, batchv1.JobFailed) != nil:
			outcome = finishedFailed
		case j.Annotations[AnnotationCancelledAt] == "" &&
			JobCondition(j, batchv1.JobSuccessCriteriaMet) == nil && JobCondition(j, batchv1.JobFailureTarget) == nil:
			set.active = append(set.active, j.Name)
		}
		if outcome == "" {
			continue
		}
		r := finishedRun{name: j.Name, uid: j.UID, resourceVersion: j.ResourceVersion}
		if ofDefinition(j.Annotations, def) {
			set.finished[outcome] = append(set.finished[outcome], r)
		} else {
			set.foreign = append(set.foreign, foreignRun{finishedRun: r, outcome: outcome, of: definitionLabel(j.Annotations)})
		}
	}
	slices.Sort(set.active)
	if markedCh == nil {
		// No run is of a definition without a UID (see ofDefinition).
		return set, nil
	}
	marked := <-markedCh
	if marked.err != nil {
		return nil, fmt.Errorf("list finished runs of job %s: %w", def.Name, marked.err)
	}
	for _, m := range marked.items {
		outcome := m.Labels[LabelFinished]
		if m.DeletionTimestamp != nil || !ofDefinition(m.Annotations, def) || (outcome != finishedSucceeded && outcome != finishedFailed) {
			continue
		}
		set.finished[outcome] = append(set.finished[outcome], finishedRun{name: m.Name, uid: m.UID, resourceVersion: m.ResourceVersion, marked: true})
	}
	for _, runs := range set.finished {
		// Run names sort by trigger time.
		slices.SortFunc(runs, func(a, b finishedRun) int { return strings.Compare(a.name, b.name) })
	}
	return set, nil
}

// ofDefinition reports whether a run was made from def as it exists (not
// from an earlier job of the same name, nor planted with its labels): only
// those are pruned.
func ofDefinition(ann map[string]string, def *jobdef.Job) bool {
	return def.UID != "" && ann[AnnotationJobUID] == string(def.UID)
}

// definitionLabel is LabelFinishedOf for a run with annotations ann.
func definitionLabel(ann map[string]string) string {
	uid := ann[AnnotationJobUID]
	if uid == "" || len(validation.IsValidLabelValue(uid)) > 0 {
		return unknownDefinition
	}
	return uid
}

// pruneRuns deletes the oldest finished runs beyond the job's history
// limits (whatever their TTL; in the background, so their pods go with
// them; each at its UID) and marks the finished runs it keeps with
// LabelFinished. It never fails: it returns a warning naming what it could
// not do ("" if nothing).
func pruneRuns(ctx context.Context, client kubernetes.Interface, def *jobdef.Job, set *runSet) string {
	jobs := client.BatchV1().Jobs(def.Namespace)
	deletes, failedDeletes, marks, failedMarks := 0, 0, 0, 0
	var first error
	note := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, outcome := range []string{finishedSucceeded, finishedFailed} {
		runs := set.finished[outcome]
		limit := def.Spec.SucceededHistory()
		if outcome == finishedFailed {
			limit = def.Spec.FailedHistory()
		}
		for i, r := range runs {
			if i < len(runs)-limit && deletes < maxPrunePerTrigger {
				deletes++
				uid := r.uid
				err := jobs.Delete(ctx, r.name, metav1.DeleteOptions{
					PropagationPolicy: ptrTo(metav1.DeletePropagationBackground),
					Preconditions:     &metav1.Preconditions{UID: &uid}})
				// Gone already, or another object of that name now: not ours.
				if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
					failedDeletes++
					note(fmt.Errorf("delete run %s: %w", r.name, err))
				}
				continue
			}
			if r.marked || marks >= maxMarkPerTrigger {
				continue
			}
			marks++
			if err := markFinished(ctx, client, def.Namespace, r, outcome, string(def.UID)); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				failedMarks++
				note(fmt.Errorf("mark run %s finished: %w", r.name, err))
			}
		}
	}
	for _, r := range set.foreign {
		if marks >= maxMarkPerTrigger {
			break
		}
		marks++
		if err := markFinished(ctx, client, def.Namespace, r.finishedRun, r.outcome, r.of); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			failedMarks++
			note(fmt.Errorf("mark run %s finished: %w", r.name, err))
		}
	}
	if first == nil {
		return ""
	}
	return fmt.Sprintf("job %s: %d of %d finished runs beyond its history limits could not be deleted, %d could not be marked finished: %v",
		def.Name, failedDeletes, deletes, failedMarks, first)
}

// markFinished labels a finished run with its outcome and the definition
// it was made from (LabelFinishedOf), at the UID and resourceVersion it was
// read at.
func markFinished(ctx context.Context, client kubernetes.Interface, ns string, r finishedRun, outcome, of string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid": r.uid, "resourceVersion": r.resourceVersion, "labels": map[string]string{LabelFinished: outcome, LabelFinishedOf: of}}})
	if err != nil {
		return err
	}
	_, err = client.BatchV1().Jobs(ns).Patch(ctx, r.name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: jobdef.ManagedBy})
	return err
}

// listJobMetadata lists the metadata only of the Jobs matching selector, at
// least as new as resourceVersion rv: the API server leaves out their spec
// and status.
func listJobMetadata(ctx context.Context, client kubernetes.Interface, ns, selector, rv string) ([]metav1.PartialObjectMetadata, error) {
	rc, ok := client.BatchV1().RESTClient().(*rest.RESTClient)
	if !ok || rc == nil {
		// A fake clientset (tests) has no REST client: list whole objects.
		opts := metav1.ListOptions{LabelSelector: selector}
		list, err := client.BatchV1().Jobs(ns).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		out := make([]metav1.PartialObjectMetadata, len(list.Items))
		for i := range list.Items {
			out[i] = metav1.PartialObjectMetadata{ObjectMeta: list.Items[i].ObjectMeta}
		}
		return out, nil
	}
	// Protobuf first: a job keeping thousands of runs makes this list
	// megabytes (managed fields are most of it), which JSON decodes about
	// five times slower (BENCHMARKS.md, "Scale").
	req := rc.Get().Namespace(ns).Resource("jobs").Param("labelSelector", selector).
		SetHeader("Accept", "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, "+
			"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
	if rv != "" {
		req = req.Param("resourceVersion", rv).Param("resourceVersionMatch", string(metav1.ResourceVersionMatchNotOlderThan))
	}
	data, err := req.DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	list, err := decodeMetadataList(data)
	if err != nil {
		return nil, fmt.Errorf("decode jobs' metadata: %w", err)
	}
	return list.Items, nil
}

// protobufMagic starts every protobuf body of the API server.
var protobufMagic = []byte("k8s\x00")

// decodeMetadataList decodes a PartialObjectMetadataList the API server
// sent as protobuf (its envelope: the magic, then a runtime.Unknown) or
// as JSON.
func decodeMetadataList(data []byte) (*metav1.PartialObjectMetadataList, error) {
	var list metav1.PartialObjectMetadataList
	if !bytes.HasPrefix(data, protobufMagic) {
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, err
		}
		return &list, nil
	}
	var u runtime.Unknown
	if err := u.Unmarshal(data[len(protobufMagic):]); err != nil {
		return nil, err
	}
	if u.Kind != "PartialObjectMetadataList" || u.APIVersion != metav1.SchemeGroupVersion.String() {
		return nil, fmt.Errorf("got %s %s, want a %s PartialObjectMetadataList", u.APIVersion, u.Kind, metav1.SchemeGroupVersion)
	}
	if err := list.Unmarshal(u.Raw); err != nil {
		return nil, err
	}
	return &list, nil
}
