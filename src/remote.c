/* remote: not written yet */
