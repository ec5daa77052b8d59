package webui

// bar is one hour of the dashboard's chart, in SVG units (480 x 120).
type bar struct {
	X, OutX, InY, InH, OutY, OutH int
	In, Out                       int
	Label                         string
}

// bars scales hourly counts to the chart: the busiest hour fills it.
func bars(hours []HourCount) []bar {
	top := 1
	for _, h := range hours {
		top = max(top, h.In, h.Out)
	}
	out := make([]bar, 0, len(hours))
	for i, h := range hours {
		in, o := h.In*110/top, h.Out*110/top
		out = append(out, bar{
			X: i * 20, OutX: i*20 + 9, InY: 120 - in, InH: in, OutY: 120 - o, OutH: o,
			In: h.In, Out: h.Out, Label: h.Hour.Format("15:04"),
		})
	}
	return out
}
