// Package postrender is a Helm post-renderer that makes one-off Jobs survive
// later releases: every batch/v1 Job gets the annotation
// helm.sh/resource-policy: keep, so that Helm does not delete it when an
// upgrade no longer renders it, and optionally a retention TTL in
// spec.ttlSecondsAfterFinished, so that Kubernetes cleans it up eventually.
//
// Use Process on a byte stream, Renderer in-process with Helm v3's action
// package, or the kubectl-shipjob postrender command with
// "helm --post-renderer" (Helm v3) or the shipjob-postrender plugin (Helm v4,
// where extra arguments such as --ttl go in --post-renderer-args).
//
// # What changes
//
// For each batch/v1 Job, with Options.Keep, the keep annotation is set; with
// Options.TTL, spec.ttlSecondsAfterFinished is set to the TTL in seconds and
// the annotation shipjob.dev/ttl records it as a Go duration ("336h0m0s").
// Values a manifest already sets (and that are not null) are kept unless
// Options.Override is set. The TTL field and its annotation go together: a
// TTL already in the manifest is kept with its annotation as it is, and when
// the TTL is written the annotation is written with it.
//
// With Options.CronJobs, each batch/v1 CronJob gets the TTL in
// spec.jobTemplate.spec.ttlSecondsAfterFinished and the TTL annotation on
// spec.jobTemplate.metadata, so that the Jobs it creates carry both. A CronJob
// never gets the keep annotation: it is not a one-off.
//
// Lists are handled item by item, like top-level documents, because Helm and
// kubectl flatten them into their items. As in Kubernetes' unstructured
// decoder, which their resource builder uses, any mapping with an "items"
// field is a list, whatever its kind: v1 List, batch/v1 JobList,
// apps/v1 List, v1 ConfigMapList, even a batch/v1 Job (whose own fields are
// then ignored, so it is not changed; null items are an empty list). An item
// with neither apiVersion nor kind takes the list's apiVersion and the
// list's kind without "List", so an item of a batch/v1 JobList that names
// no kind is a Job. Lists in lists are handled too (Helm refuses them).
// Other apiVersions of a kind named Job (batch/v1beta1, CRDs) are left alone.
//
// # What is kept
//
// Documents that are not changed are copied byte for byte: comments
// (including Helm's "# Source:" lines), document markers, empty documents,
// the order of documents, line endings and indentation. A changed document
// is re-encoded with kyaml: comments, key order, quoting, flow style, literal
// block scalars, the sequence indentation style (indented or not, as the
// input had it), CRLF line endings and the "---" line before it are kept.
// What may change in it: indentation becomes two spaces, the space before a
// line comment becomes one, aliases and merge keys are expanded, folded
// block scalars (">") are written as literal ones ("|") or plain scalars,
// and directives ("%YAML") are dropped. New keys go to the end of their
// mapping. Annotations already present, such as Helm v4's
// postrenderer.helm.sh/postrender-filename, are kept.
//
// Merge keys are resolved as Kubernetes' YAML decoder (sigs.k8s.io/yaml,
// goyaml.v2, YAML 1.1) resolves them, not as yaml.v3 does: the entries of a
// mapping apply in order, so {a: x, <<: {a: y}} has a: y, and of a sequence
// of merged mappings the earlier ones win. The kind, the metadata and the
// items the policy looks at are the ones Kubernetes sees.
//
// # Documents and the fast path
//
// The stream is split into documents here, as a YAML parser does: a line
// that starts with "---" or "..." followed by a blank or the line end is a
// document marker wherever it appears. Only documents whose text could make
// them a Job, CronJob or List are parsed (those containing "Job" or "List",
// or a backslash and a double quote, which could spell them with escapes).
// The others are copied without being parsed, so a syntax error in them is
// left for Helm to report.
//
// # Errors
//
// Errors name the document (1-based) and the input line; a *DocumentError
// carries both. Besides syntax errors, parsed documents are checked for alias
// cycles, merge keys whose value is not a mapping or a sequence of them, and
// alias expansion beyond a budget for the whole stream: the parsed documents,
// aliases expanded, may hold at most 10 times the nodes they hold as written,
// and at least 65536 ("billion laughs"); documents about to be changed are
// checked for duplicate keys and fields of the wrong kind (such as
// metadata.annotations being a list). Process returns either the whole
// output or no output. ProcessContext stops, with an error, when its context
// is done: it looks before each document and while expanding aliases.
// Input without YAML content (empty, whitespace, comments or markers only) is
// ErrEmptyInput unless Options.AllowEmpty is set, since Helm would apply an
// empty manifest as "delete every resource of the release".
package postrender
