# staged_flow.tcl -- OpenROAD global placement steered by gsr-eda congestion estimates.
#
# Stages: (1) global placement to a target overflow, (2) write_def and ask the model,
# (3) pad the cells the model flags, (4) incremental global placement; repeat a few rounds.
#
# Before running, start the server once (it keeps the model loaded for the whole flow):
#   gsr-eda serve --checkpoint runs/gsr16/best.pt --port 40123 &
# then, inside `openroad` after floorplan/PDN/IO placement:
#   set ::env(GSR_EDA_PORT) 40123 ; source flows/openroad/staged_flow.tcl
#
# Knobs (environment): GSR_EDA_PORT, GSR_EDA_TOKEN, GSR_EDA_WORK (scratch folder),
# GSR_EDA_THRESHOLD (hotspot score, label units), GSR_EDA_ROUNDS, GSR_EDA_PAD (sites each side).

source [file join [file dirname [info script]] gsr_eda.tcl]

proc env_or {name default} {
    if {[info exists ::env($name)]} { return $::env($name) }
    return $default
}

set work      [file normalize [env_or GSR_EDA_WORK gsr_eda_work]]
set threshold [env_or GSR_EDA_THRESHOLD 0.5]
set rounds    [env_or GSR_EDA_ROUNDS 3]
set pad       [env_or GSR_EDA_PAD 2]
set lefs      [env_or GSR_EDA_LEFS ""]   ;# technology LEF first, then cell LEFs
file mkdir $work

gsr_eda::connect -port [env_or GSR_EDA_PORT ""] -token [env_or GSR_EDA_TOKEN ""]

# (1) Global placement to a moderate overflow: far enough that positions mean something,
# early enough that padding can still move cells.
global_placement -density 0.65 -overflow 0.3
write_def $work/stage0.def
gsr_eda::load_design top $work/stage0.def $lefs

for {set round 1} {$round <= $rounds} {incr round} {
    # (2) Ask the model about the current placement.
    write_def $work/round$round.def
    gsr_eda::update_from_def top $work/round$round.def
    set summary [gsr_eda::estimate top $work/round$round -threshold $threshold]
    puts "gsr-eda round $round: max [dict get $summary max] p99 [dict get $summary p99]\
          hotspot cells [dict get $summary hotspot_cells]\
          hotspot gcells [dict get $summary hotspot_gcells]"
    if {[dict get $summary hotspot_cells] == 0} { break }

    # (3) Pad the flagged cells so the next placement gives them room (left/right, in sites).
    set scores [gsr_eda::read_scores [dict get $summary cells_path]]
    set hot [gsr_eda::hotspots $scores $threshold]
    set insts {}
    foreach name $hot {
        set inst [[ord::get_db_block] findInst $name]
        if {$inst ne "NULL"} { lappend insts $inst }
    }
    set_placement_padding -instances $insts -left $pad -right $pad

    # (4) Incremental global placement from the current solution.
    global_placement -incremental -density 0.65 -overflow 0.1
}

gsr_eda::disconnect
