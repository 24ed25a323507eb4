#!/bin/bash
# t-rv-part with -m 1: the stopped part lies inside a tree unit.
RV_DEPTH=1 exec bash "$(dirname "$0")/t-rv-part.sh"
