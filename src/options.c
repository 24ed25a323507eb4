/* options: not written yet */
