/* spawn: not written yet */
