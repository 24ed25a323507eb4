#!/bin/bash
# t-relay-part with -m 1: the part stopped lies inside a unit that is a tree.
RV_DEPTH=1 exec bash "$(dirname "$0")/t-relay-part.sh"
