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
// The items of a v1 List are handled like top-level documents (Jobs in a List
// are changed; Lists in Lists too), because Helm and kubectl flatten Lists
// into their items. Typed lists such as batch/v1 JobList are left alone.
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
// cycles and alias expansions beyond a million nodes, and documents about to
// be changed for duplicate keys and fields of the wrong kind (such as
// metadata.annotations being a list). Process returns either the whole
// output or no output.
// Input without YAML content (empty, whitespace, comments or markers only) is
// ErrEmptyInput unless Options.AllowEmpty is set, since Helm would apply an
// empty manifest as "delete every resource of the release".
package postrender
