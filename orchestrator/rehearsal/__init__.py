"""What every rehearsal shares, local or on Azure: the marks it puts down before it starts anything
(so `drctl cleanup` finds what a dead one left), its record (timings against the plan, rehearsal.json
and a section of report.md), and a teardown that Ctrl-C cannot cut short."""
