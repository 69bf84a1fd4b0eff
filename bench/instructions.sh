#!/bin/bash
# Instructions per call of one case: callgrind counts at two iteration counts, difference divided by
# the extra iterations (start-up and warm-up cancel out). Usage: bench/instructions.sh <case> [a] [b]
c=$1; a=${2:-20000}; b=${3:-120000}
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded bench/instructions.mjs $c $1 2>&1 | grep -o 'Collected : [0-9]*' | grep -o '[0-9]*'; }
x=$(ir $a); y=$(ir $b)
echo "$c $(( (y - x) / (b - a) )) instr/call"
