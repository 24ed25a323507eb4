/* output: not written yet */
