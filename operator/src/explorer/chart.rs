//! The home page's chart: transactions per block and tx/s over the latest blocks, drawn as SVG
//! by plotters (its SVG backend; no bitmap backends, no font files).

use plotters::prelude::*;

/// One block on the chart.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    /// The block number.
    pub blknum: u64,
    /// Its transactions.
    pub txs: u64,
    /// Transactions per second since the block before it (0 when unknown).
    pub tx_per_sec: f64,
}

/// An SVG of transactions per block (bars as a line) and tx/s, `width` × `height` pixels.
/// `None` when there is nothing to draw or plotters fails (the page then shows a note).
pub fn svg(points: &[Point], width: u32, height: u32) -> Option<String> {
    let (first, last) = (points.first()?, points.last()?);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let max_txs = points.iter().map(|p| p.txs).max().unwrap_or(0).max(1) as f64;
        let max_rate = points
            .iter()
            .map(|p| p.tx_per_sec)
            .fold(0.0f64, f64::max)
            .max(1.0);
        let x_end = if last.blknum > first.blknum {
            last.blknum
        } else {
            first.blknum + 1
        };
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .right_y_label_area_size(48)
            .build_cartesian_2d(first.blknum..x_end, 0.0..max_txs * 1.1)
            .ok()?
            .set_secondary_coord(first.blknum..x_end, 0.0..max_rate * 1.1);
        chart
            .configure_mesh()
            .x_desc("block")
            .y_desc("transactions")
            .x_labels(5)
            .y_labels(5)
            .draw()
            .ok()?;
        chart
            .configure_secondary_axes()
            .y_desc("tx/s")
            .draw()
            .ok()?;
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.blknum, p.txs as f64)),
                BLUE.stroke_width(2),
            ))
            .ok()?
            .label("transactions per block (left)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE.stroke_width(2)));
        // A point per block, so that a chart of one block still shows it.
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.blknum, p.txs as f64), 3, BLUE.filled())),
            )
            .ok()?;
        chart
            .draw_secondary_series(LineSeries::new(
                points.iter().map(|p| (p.blknum, p.tx_per_sec)),
                RED.stroke_width(1),
            ))
            .ok()?
            .label("tx/s (right)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .ok()?;
        root.present().ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_of_a_few_blocks_is_an_svg_with_both_series() {
        let points: Vec<Point> = (1..=5)
            .map(|i| Point {
                blknum: i * 1000,
                txs: i * 10,
                tx_per_sec: i as f64 * 2.5,
            })
            .collect();
        let drawn = svg(&points, 600, 240).expect("drawn");
        assert!(
            drawn.starts_with("<svg"),
            "{}",
            &drawn[..40.min(drawn.len())]
        );
        // Two series, each a line and its legend's sample: a blue line with a point per block,
        // and a red line.
        let line_of = |color: &str| {
            drawn
                .lines()
                .filter(|l| {
                    l.starts_with("<polyline") && l.contains(&format!("stroke=\"{color}\""))
                })
                .count()
        };
        assert_eq!(line_of("#0000FF"), 2, "{drawn}");
        assert_eq!(line_of("#FF0000"), 2, "{drawn}");
        assert!(drawn.contains("transactions per block (left)") && drawn.contains("tx/s (right)"));
        assert_eq!(drawn.matches("<circle").count(), 5, "{drawn}");
        assert!(drawn.contains("transactions") && drawn.contains("tx/s"));
        assert!(svg(&[], 600, 240).is_none());
    }

    #[test]
    fn one_block_still_draws() {
        let one = [Point {
            blknum: 1000,
            txs: 3,
            tx_per_sec: 0.0,
        }];
        assert!(svg(&one, 300, 200).is_some());
    }
}
