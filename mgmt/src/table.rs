//! Text tables for `satctl show`: every column as wide as its widest cell,
//! so rows line up whatever the names and numbers are (fixed `{:<12}`
//! widths broke on long port names and 20-digit counters).

/// A table: a header row and data rows, rendered with two spaces between
/// columns. Columns whose header starts with `>` are right-aligned
/// (numbers); the `>` is not printed.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers (`">cost"`: right-aligned).
    pub fn new(columns: &[&str]) -> Table {
        Table {
            header: columns
                .iter()
                .map(|c| c.trim_start_matches('>').to_string())
                .collect(),
            right: columns.iter().map(|c| c.starts_with('>')).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells are blank, extra cells are kept and
    /// left-aligned.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: ToString,
    {
        self.rows
            .push(cells.into_iter().map(|c| c.to_string()).collect());
    }

    /// Rows added so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines, each ending in `\n`, without trailing blanks.
    pub fn render(&self) -> String {
        let cols = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let width = |c: usize| {
            self.rows
                .iter()
                .chain([&self.header])
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..cols).map(width).collect();
        let mut out = String::new();
        for r in [&self.header].into_iter().chain(&self.rows) {
            let mut line = String::new();
            for (c, w) in widths.iter().enumerate() {
                let cell = r.get(c).map_or("", String::as_str);
                let pad = w - cell.chars().count();
                if c > 0 {
                    line.push_str("  ");
                }
                if self.right.get(c).copied().unwrap_or(false) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_whatever_the_cell_widths() {
        let mut t = Table::new(&["port", "role", ">cost"]);
        t.row(["eth1", "root", "20000"]);
        t.row(["a-very-long-port-name", "designated", "4"]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "port                   role         cost");
        assert_eq!(lines[1], "eth1                   root        20000");
        assert_eq!(lines[2], "a-very-long-port-name  designated      4");
        // Every column starts at the same offset on every line.
        let at = |l: &str, w: &str| l.find(w).unwrap();
        assert_eq!(at(lines[0], "role"), at(lines[1], "root"));
        assert_eq!(at(lines[1], "root"), at(lines[2], "designated"));
        assert_eq!(lines[1].len(), lines[2].len(), "numbers end together");
    }

    #[test]
    fn short_rows_and_wide_characters_do_not_break_the_layout() {
        let mut t = Table::new(&["a", "b"]);
        t.row(["→x"]);
        t.row(["y", "z", "extra"]);
        assert_eq!(t.len(), 2);
        assert_eq!(t.render(), "a   b\n→x\ny   z  extra\n");
    }

    #[test]
    fn an_empty_table_is_its_header() {
        let t = Table::new(&["vlan", ">age"]);
        assert!(t.is_empty());
        assert_eq!(t.render(), "vlan  age\n");
    }
}
