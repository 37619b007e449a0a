# gsr_eda.tcl -- query a running `gsr-eda serve` from OpenROAD (or any Tcl 8.6 shell).
#
#   source gsr_eda.tcl
#   gsr_eda::connect -port 40123                 ;# the port `gsr-eda serve` printed
#   gsr_eda::load_design aes /abs/aes.def [list /abs/tech.lef /abs/cells.lef]
#   write_def /abs/iter1.def                     ;# OpenROAD
#   gsr_eda::update_from_def aes /abs/iter1.def
#   set summary [gsr_eda::estimate aes /abs/out/iter1]
#   set scores  [gsr_eda::read_scores [dict get $summary cells_path]]
#   set hot     [gsr_eda::hotspots $scores 0.5]
#
# Every proc raises a Tcl error ("gsr-eda: <message>") when the server answers ok=false, so
# a flow script stops at the first problem unless it `catch`es.
#
# Wire format: one JSON object per line each way (see docs/flows.md). Tcl 8.6 has no JSON
# library: requests are encoded here from typed fields, and replies, which the server keeps
# flat (strings, numbers, booleans, null, lists of strings), are decoded into a Tcl dict by a
# small reader that also accepts nesting. JSON null becomes the empty string.

package require Tcl 8.6

namespace eval gsr_eda {
    variable chan ""
    variable token ""
    variable next_id 0
    namespace export connect disconnect request health designs load_design \
        update_from_def update_from_positions estimate read_scores hotspots shutdown
}

# ----------------------------------------------------------------------------- JSON encoding

# A JSON string literal for any Tcl string.
proc gsr_eda::json_string {s} {
    set map [list "\\" "\\\\" "\"" "\\\"" "\n" "\\n" "\r" "\\r" "\t" "\\t" "\b" "\\b" "\f" "\\f"]
    set s [string map $map $s]
    # Remaining control characters as \u00XX.
    while {[regexp -indices {[\x00-\x1f]} $s where]} {
        set i [lindex $where 0]
        scan [string index $s $i] %c code
        set s [string replace $s $i $i [format "\\u%04x" $code]]
    }
    return "\"$s\""
}

# A JSON object from triples {key type value ...}; type is one of
#   s  string      n  number      b  boolean      l  list of strings
proc gsr_eda::json_object {triples} {
    set parts {}
    foreach {key type value} $triples {
        switch -- $type {
            s { set v [json_string $value] }
            n {
                if {![string is double -strict $value]} {
                    error "gsr-eda: field '$key' must be a number, got '$value'"
                }
                set v $value
            }
            b { set v [expr {$value ? "true" : "false"}] }
            l {
                set items {}
                foreach item $value { lappend items [json_string $item] }
                set v "\[[join $items ,]\]"
            }
            default { error "gsr-eda: unknown JSON field type '$type'" }
        }
        lappend parts "[json_string $key]:$v"
    }
    return "\{[join $parts ,]\}"
}

# ----------------------------------------------------------------------------- JSON decoding

# Decode one JSON text: objects become dicts, arrays lists, null the empty string.
proc gsr_eda::json_decode {text} {
    set pos 0
    set value [json_value $text pos]
    json_skip_ws $text pos
    if {$pos != [string length $text]} {
        error "gsr-eda: trailing characters in reply at offset $pos"
    }
    return $value
}

proc gsr_eda::json_skip_ws {text posVar} {
    upvar 1 $posVar pos
    while {[string is space -strict [string index $text $pos]]} { incr pos }
}

proc gsr_eda::json_value {text posVar} {
    upvar 1 $posVar pos
    json_skip_ws $text pos
    set c [string index $text $pos]
    switch -- $c {
        "\{" {
            incr pos
            set result [dict create]
            json_skip_ws $text pos
            if {[string index $text $pos] eq "\}"} { incr pos; return $result }
            while 1 {
                json_skip_ws $text pos
                if {[string index $text $pos] ne "\""} { error "gsr-eda: bad reply: expected a key at offset $pos" }
                set key [json_string_literal $text pos]
                json_skip_ws $text pos
                if {[string index $text $pos] ne ":"} { error "gsr-eda: bad reply: expected ':' at offset $pos" }
                incr pos
                dict set result $key [json_value $text pos]
                json_skip_ws $text pos
                set c [string index $text $pos]
                incr pos
                if {$c eq "\}"} { return $result }
                if {$c ne ","} { error "gsr-eda: bad reply: expected ',' or '\}' at offset [expr {$pos - 1}]" }
            }
        }
        "\[" {
            incr pos
            set result {}
            json_skip_ws $text pos
            if {[string index $text $pos] eq "\]"} { incr pos; return $result }
            while 1 {
                lappend result [json_value $text pos]
                json_skip_ws $text pos
                set c [string index $text $pos]
                incr pos
                if {$c eq "\]"} { return $result }
                if {$c ne ","} { error "gsr-eda: bad reply: expected ',' or '\]' at offset [expr {$pos - 1}]" }
            }
        }
        "\"" { return [json_string_literal $text pos] }
        default {
            foreach {word value} {true 1 false 0 null ""} {
                if {[string range $text $pos [expr {$pos + [string length $word] - 1}]] eq $word} {
                    incr pos [string length $word]
                    return $value
                }
            }
            if {[regexp -- {\A-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?} [string range $text $pos end] number]} {
                incr pos [string length $number]
                return $number
            }
            error "gsr-eda: bad reply: unexpected character '$c' at offset $pos"
        }
    }
}

proc gsr_eda::json_string_literal {text posVar} {
    upvar 1 $posVar pos
    incr pos  ;# opening quote
    set out ""
    set n [string length $text]
    while {$pos < $n} {
        set c [string index $text $pos]
        if {$c eq "\""} { incr pos; return $out }
        if {$c eq "\\"} {
            set e [string index $text [incr pos]]
            switch -- $e {
                n { append out "\n" }
                t { append out "\t" }
                r { append out "\r" }
                b { append out "\b" }
                f { append out "\f" }
                u {
                    append out [format %c [scan [string range $text [expr {$pos + 1}] [expr {$pos + 4}]] %x]]
                    incr pos 4
                }
                default { append out $e }
            }
            incr pos
            continue
        }
        append out $c
        incr pos
    }
    error "gsr-eda: bad reply: unterminated string"
}

# ----------------------------------------------------------------------------- connection

# Connect to a running server. Options: -host (127.0.0.1), -port (required), -token.
proc gsr_eda::connect {args} {
    variable chan
    variable token
    set opts [dict merge {-host 127.0.0.1 -port "" -token ""} $args]
    if {[dict get $opts -port] eq ""} {
        error "gsr-eda: connect needs -port (the port `gsr-eda serve` printed)"
    }
    if {$chan ne ""} { disconnect }
    set chan [socket [dict get $opts -host] [dict get $opts -port]]
    fconfigure $chan -translation lf -encoding utf-8 -buffering line -blocking 1
    set token [dict get $opts -token]
    return $chan
}

proc gsr_eda::disconnect {} {
    variable chan
    if {$chan ne ""} {
        catch {close $chan}
        set chan ""
    }
}

# Send one request (op plus typed field triples, see json_object) and return the reply dict.
# Raises an error with the server's message when the reply has ok=false.
proc gsr_eda::request {op {triples {}}} {
    variable chan
    variable token
    variable next_id
    if {$chan eq ""} { error "gsr-eda: not connected (call gsr_eda::connect first)" }
    set id [incr next_id]
    set fields [list id n $id op s $op]
    if {$token ne ""} { lappend fields token s $token }
    puts $chan [json_object [concat $fields $triples]]
    if {[gets $chan line] < 0} {
        disconnect
        error "gsr-eda: the server closed the connection"
    }
    set reply [json_decode $line]
    if {![dict get $reply ok]} {
        error "gsr-eda: [dict get $reply error]"
    }
    if {[dict get $reply id] != $id} {
        error "gsr-eda: reply id [dict get $reply id] does not match request id $id"
    }
    return $reply
}

# ----------------------------------------------------------------------------- operations

proc gsr_eda::health {} { return [request health] }

proc gsr_eda::designs {} { return [dict get [request designs] designs] }

# Read a placed DEF and its LEFs (technology LEF first) into the server under `name`.
proc gsr_eda::load_design {name def lefs} {
    set abs_lefs {}
    foreach lef $lefs { lappend abs_lefs [file normalize $lef] }
    return [request load_design [list name s $name def s [file normalize $def] lefs l $abs_lefs]]
}

# New positions from a DEF written after placement (`write_def`): only COMPONENTS is re-read.
proc gsr_eda::update_from_def {name def} {
    return [request update_positions [list design s $name def s [file normalize $def]]]
}

# New positions from a text file of "instance x y" lines, microns.
proc gsr_eda::update_from_positions {name path} {
    return [request update_positions [list design s $name positions s [file normalize $path]]]
}

# Run the model. Writes <out>.cells.tsv and <out>.gcells.csv; returns the summary dict
# (cells, max, mean, p99, threshold, hotspot_cells, hotspot_gcells, hotspot_fraction, cells_path, ...).
# Options: -threshold T (label units), -reuse 1 (skip the model if nothing moved half a gcell).
proc gsr_eda::estimate {name out args} {
    set triples [list design s $name out s [file normalize $out]]
    foreach {option value} $args {
        switch -- $option {
            -threshold { lappend triples threshold n $value }
            -reuse { lappend triples reuse b $value }
            default { error "gsr-eda: estimate: unknown option $option" }
        }
    }
    return [request estimate $triples]
}

# Per-instance scores written by `estimate`: a dict instance -> score.
proc gsr_eda::read_scores {path} {
    set fh [open $path r]
    fconfigure $fh -encoding utf-8
    set scores [dict create]
    while {[gets $fh line] >= 0} {
        if {$line eq "" || [string index $line 0] eq "#"} { continue }
        lassign [split $line "\t"] inst score
        dict set scores $inst $score
    }
    close $fh
    return $scores
}

# Instances whose score is above `threshold`, worst first.
proc gsr_eda::hotspots {scores threshold} {
    set hot {}
    dict for {inst score} $scores {
        if {$score > $threshold} { lappend hot [list $inst $score] }
    }
    set result {}
    foreach pair [lsort -real -decreasing -index 1 $hot] { lappend result [lindex $pair 0] }
    return $result
}

proc gsr_eda::shutdown {} {
    set reply [request shutdown]
    disconnect
    return $reply
}
