//! Lays a sheet out and paints it: header, panels side by side with captions, the legend of
//! classes present, a note on colours, and the timeline strip wrapped to the sheet's width.

use super::content::{Content, PanelPicture};
use super::draw::{self, Font, BODY, BOLD, TITLE};
use super::{Panel, Sheet};
use crate::model::classes::{CLASS_COLORS, CLASS_NAMES};
use image::{Rgb, RgbImage};

const MARGIN: u32 = 20;
const GAP: u32 = 20;
const BACKGROUND: Rgb<u8> = Rgb([248, 248, 246]);
const INK: Rgb<u8> = Rgb([34, 34, 34]);
const MUTED: Rgb<u8> = Rgb([110, 110, 110]);
const BORDER: Rgb<u8> = Rgb([160, 160, 160]);
const HIGHLIGHT: Rgb<u8> = Rgb([220, 30, 30]);
const SWATCH: u32 = 14;
const ROW: u32 = 22;

/// Something to paint, placed.
enum Op {
    Text(u32, u32, String, Font, Rgb<u8>),
    Picture(u32, u32, RgbImage),
    Fill(u32, u32, u32, u32, Rgb<u8>),
    Frame(u32, u32, u32, u32, u32, Rgb<u8>),
}

/// Paint operations and the extent they cover, so the image is allocated once at its size.
#[derive(Default)]
struct Canvas {
    ops: Vec<Op>,
    width: u32,
    height: u32,
    panels: Vec<Panel>,
}

impl Canvas {
    fn extend(&mut self, right: u32, bottom: u32) {
        self.width = self.width.max(right);
        self.height = self.height.max(bottom);
    }

    fn text(&mut self, x: u32, y: u32, s: &str, font: Font, color: Rgb<u8>) -> u32 {
        self.extend(x + font.width(s), y + font.height());
        self.ops.push(Op::Text(x, y, s.to_string(), font, color));
        y + font.height()
    }

    fn picture(&mut self, x: u32, y: u32, picture: RgbImage, frame: (u32, Rgb<u8>)) {
        let (w, h) = picture.dimensions();
        self.extend(x + w + frame.0, y + h + frame.0);
        self.ops.push(Op::Frame(x, y, w, h, frame.0, frame.1));
        self.ops.push(Op::Picture(x, y, picture));
    }

    fn paint(self) -> Sheet {
        let (w, h) = (self.width + MARGIN, self.height + MARGIN);
        let mut image = RgbImage::from_pixel(w, h, BACKGROUND);
        for op in self.ops {
            match op {
                Op::Text(x, y, s, font, color) => draw::text(&mut image, x, y, &s, font, color),
                Op::Picture(x, y, p) => draw::paste(&mut image, &p, x, y),
                Op::Fill(x, y, w, h, color) => draw::fill(&mut image, x, y, w, h, color),
                Op::Frame(x, y, w, h, t, color) => draw::frame(&mut image, x, y, w, h, t, color),
            }
        }
        Sheet {
            image,
            panels: self.panels,
        }
    }
}

/// Lays out and paints a sheet.
pub fn render(content: Content) -> Sheet {
    let mut c = Canvas::default();
    let mut y = c.text(MARGIN, MARGIN, &content.title, TITLE, INK) + 6;
    y = c.text(MARGIN, y, &content.subtitle, BODY, INK) + 6;
    if let Some(line) = &content.georef {
        y = c.text(MARGIN, y, line, BODY, MUTED) + 6;
    }
    y += 10;
    let (right, bottom) = panels_row(&mut c, content.panels, y);
    let legend_bottom = legend(&mut c, &content.legend, right, y);
    y = bottom.max(legend_bottom) + 12;
    y = c.text(MARGIN, y, &content.note, BODY, MUTED);
    if !content.thumbnails.is_empty() {
        let width = c.width.saturating_sub(MARGIN);
        timeline(&mut c, content.thumbnails, y + 24, width);
    }
    c.paint()
}

/// The panels side by side, each under its caption; returns the row's right and bottom edges.
fn panels_row(c: &mut Canvas, panels: Vec<PanelPicture>, y: u32) -> (u32, u32) {
    let (mut x, mut bottom) = (MARGIN, y);
    let top = y + BOLD.height() + 6;
    for (kind, caption, picture) in panels {
        c.text(x, y, &caption, BOLD, INK);
        let (w, h) = picture.dimensions();
        c.panels.push(Panel {
            kind,
            x,
            y: top,
            width: w,
            height: h,
        });
        c.picture(x, top, picture, (1, BORDER));
        x += w.max(BOLD.width(&caption)) + GAP;
        bottom = bottom.max(top + h);
    }
    (x, bottom)
}

/// The classes present: swatch, id, name and share of pixels; returns its bottom edge.
fn legend(c: &mut Canvas, entries: &[(usize, f64)], x: u32, y: u32) -> u32 {
    if entries.is_empty() {
        return y;
    }
    let mut y = c.text(x, y, "Classes present", BOLD, INK) + 6;
    let name_width = entries
        .iter()
        .map(|&(k, _)| CLASS_NAMES[k].len())
        .max()
        .unwrap_or(0);
    for &(class, share) in entries {
        let swatch_y = y + (ROW - SWATCH) / 2;
        c.ops.push(Op::Fill(
            x,
            swatch_y,
            SWATCH,
            SWATCH,
            Rgb(CLASS_COLORS[class]),
        ));
        c.ops
            .push(Op::Frame(x, swatch_y, SWATCH, SWATCH, 1, BORDER));
        let line = format!(
            "{class:>2}  {:<name_width$} {:>5.1}%",
            CLASS_NAMES[class],
            share * 100.0
        );
        c.text(
            x + SWATCH + 8,
            y + (ROW - BODY.height()) / 2,
            &line,
            BODY,
            INK,
        );
        y += ROW;
    }
    y
}

/// Thumbnails in rows that fit `width`, the date under each, the panels' date framed in red.
fn timeline(c: &mut Canvas, thumbnails: Vec<(RgbImage, String, bool)>, y: u32, width: u32) {
    let title =
        "Timeline: S2 true colour of every date (one stretch for all; red: the date shown above)";
    let top = c.text(MARGIN, y, title, BOLD, INK) + 8;
    let Some((tw, th)) = thumbnails.first().map(|t| t.0.dimensions()) else {
        return;
    };
    let cell_w = tw.max(BODY.width("0000-00-00")) + 12;
    let cell_h = th + BODY.height() + 14;
    let per_row = ((width.saturating_sub(MARGIN) + 12) / cell_w).max(1) as usize;
    for (i, (picture, label, chosen)) in thumbnails.into_iter().enumerate() {
        let x = MARGIN + (i % per_row) as u32 * cell_w;
        let y = top + (i / per_row) as u32 * cell_h + 2;
        let frame = if chosen { (3, HIGHLIGHT) } else { (1, BORDER) };
        c.picture(x, y, picture, frame);
        let color = if chosen { HIGHLIGHT } else { INK };
        c.text(x, y + th + 5, &label, BODY, color);
    }
}
