package commands

import (
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/util/jsonpath"
)

// The -o custom-columns formats, as kubectl's: custom-columns=HEADER:PATH,...
// or custom-columns-file=FILE (a line of headers, then a line of paths).
// They are implemented here on client-go's jsonpath because kubectl's
// implementation lives in k8s.io/kubectl/pkg/cmd/get, whose package
// initialization alone costs more start-up time and binary size than all
// of this plugin's code (see BENCHMARKS.md).
const (
	columnsFormat     = "custom-columns"
	columnsFileFormat = "custom-columns-file"
)

// column is one column: its header and its compiled JSONPath.
type column struct {
	header string
	path   *jsonpath.JSONPath
}

// columnsPrinter prints objects (each item of a list) as a table of
// JSONPath results; "<none>" marks a missing value.
type columnsPrinter struct {
	columns   []column
	noHeaders bool
}

// newColumnsPrinter parses -o custom-columns=... or custom-columns-file=...
func newColumnsPrinter(output string, noHeaders bool) (*columnsPrinter, error) {
	format, arg, ok := strings.Cut(output, "=")
	if !ok || arg == "" {
		return nil, fmt.Errorf("%s needs a value, e.g. %s=NAME:.metadata.name", format, columnsFormat)
	}
	var headers, paths []string
	switch format {
	case columnsFormat:
		for spec := range strings.SplitSeq(arg, ",") {
			h, p, ok := strings.Cut(spec, ":")
			if !ok || h == "" || p == "" {
				return nil, fmt.Errorf("column %q: want HEADER:JSONPATH", spec)
			}
			headers, paths = append(headers, h), append(paths, p)
		}
	case columnsFileFormat:
		data, err := os.ReadFile(arg)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 2 {
			return nil, fmt.Errorf("%s: want two lines (headers, then paths), got %d", arg, len(lines))
		}
		headers, paths = strings.Fields(lines[0]), strings.Fields(lines[1])
		if len(headers) != len(paths) {
			return nil, fmt.Errorf("%s: %d headers but %d paths", arg, len(headers), len(paths))
		}
	default:
		return nil, fmt.Errorf("unknown output format %q", format)
	}
	p := &columnsPrinter{noHeaders: noHeaders}
	for i, h := range headers {
		jp := jsonpath.New(h).AllowMissingKeys(true)
		if err := jp.Parse(relaxedPath(paths[i])); err != nil {
			return nil, fmt.Errorf("column %s: %w", h, err)
		}
		p.columns = append(p.columns, column{header: h, path: jp})
	}
	return p, nil
}

// relaxedPath accepts ".a.b", "a.b" and "{.a.b}" like kubectl does.
func relaxedPath(p string) string {
	if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
		return p
	}
	return "{." + strings.TrimPrefix(p, ".") + "}"
}

// PrintObj prints obj, or each item when obj is a list.
func (p *columnsPrinter) PrintObj(obj runtime.Object, out io.Writer) error {
	w := printers.GetNewTabWriter(out)
	if !p.noHeaders {
		headers := make([]string, len(p.columns))
		for i, c := range p.columns {
			headers[i] = c.header
		}
		fmt.Fprintln(w, strings.Join(headers, "\t"))
	}
	items := []runtime.Object{obj}
	if meta.IsListType(obj) {
		var err error
		if items, err = meta.ExtractList(obj); err != nil {
			return err
		}
	}
	for _, item := range items {
		if err := p.printRow(item, w); err != nil {
			return err
		}
	}
	return w.Flush()
}

func (p *columnsPrinter) printRow(obj runtime.Object, w io.Writer) error {
	data, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	cells := make([]string, len(p.columns))
	for i, c := range p.columns {
		results, err := c.path.FindResults(data)
		if err != nil {
			return fmt.Errorf("column %s: %w", c.header, err)
		}
		var vals []string
		for _, r := range results {
			for _, v := range r {
				vals = append(vals, fmt.Sprint(v.Interface()))
			}
		}
		cells[i] = none
		if len(vals) > 0 {
			cells[i] = strings.Join(vals, ",")
		}
	}
	_, err = fmt.Fprintln(w, strings.Join(cells, "\t"))
	return err
}
