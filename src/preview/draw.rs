//! Drawing on the sheet: text in Noto Sans Mono (pre-rasterised, anti-aliased, shipped inside the
//! `noto-sans-mono-bitmap` crate), filled and outlined boxes, enlarged pictures.

use image::imageops;
use image::{Rgb, RgbImage};
use noto_sans_mono_bitmap::{get_raster, get_raster_width, FontWeight, RasterHeight};

/// A text style: weight and raster height.
#[derive(Clone, Copy, Debug)]
pub struct Font {
    weight: FontWeight,
    height: RasterHeight,
}

/// Titles.
pub const TITLE: Font = Font {
    weight: FontWeight::Bold,
    height: RasterHeight::Size20,
};
/// Captions and labels.
pub const BODY: Font = Font {
    weight: FontWeight::Regular,
    height: RasterHeight::Size16,
};
/// Emphasised labels.
pub const BOLD: Font = Font {
    weight: FontWeight::Bold,
    height: RasterHeight::Size16,
};

impl Font {
    /// Height of a line in pixels.
    pub fn height(self) -> u32 {
        self.height.val() as u32
    }

    /// Width of `text` in pixels (monospace).
    pub fn width(self, text: &str) -> u32 {
        (get_raster_width(self.weight, self.height) * text.chars().count()) as u32
    }
}

/// Writes `text` with its top-left corner at (x, y), blending `color` over what is there.
/// Characters the font lacks are drawn as `?`.
pub fn text(image: &mut RgbImage, x: u32, y: u32, s: &str, font: Font, color: Rgb<u8>) {
    let advance = get_raster_width(font.weight, font.height) as u32;
    for (i, c) in s.chars().enumerate() {
        let glyph = get_raster(c, font.weight, font.height)
            .or_else(|| get_raster('?', font.weight, font.height));
        let Some(glyph) = glyph else { continue };
        let x0 = x + i as u32 * advance;
        for (dy, row) in glyph.rows().enumerate() {
            for (dx, &alpha) in row.iter().enumerate() {
                blend(image, x0 + dx as u32, y + dy as u32, color, alpha);
            }
        }
    }
}

fn blend(image: &mut RgbImage, x: u32, y: u32, color: Rgb<u8>, alpha: u8) {
    if alpha == 0 || x >= image.width() || y >= image.height() {
        return;
    }
    let a = u32::from(alpha);
    let px = image.get_pixel_mut(x, y);
    for (dst, src) in px.0.iter_mut().zip(color.0) {
        *dst = ((u32::from(src) * a + u32::from(*dst) * (255 - a) + 127) / 255) as u8;
    }
}

/// Fills the box of `w` x `h` pixels at (x, y), clipped to the image.
pub fn fill(image: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, color: Rgb<u8>) {
    for yy in y..(y + h).min(image.height()) {
        for xx in x..(x + w).min(image.width()) {
            image.put_pixel(xx, yy, color);
        }
    }
}

/// A one-pixel frame just outside the box of `w` x `h` pixels at (x, y), `width` pixels thick.
pub fn frame(image: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, width: u32, color: Rgb<u8>) {
    let (x0, y0) = (x.saturating_sub(width), y.saturating_sub(width));
    let (outer_w, outer_h) = (w + 2 * width, h + 2 * width);
    fill(image, x0, y0, outer_w, width, color);
    fill(image, x0, y + h, outer_w, width, color);
    fill(image, x0, y0, width, outer_h, color);
    fill(image, x + w, y0, width, outer_h, color);
}

/// `picture` enlarged `scale` times, nearest neighbour (each pixel becomes a crisp square).
pub fn enlarge(picture: &RgbImage, scale: u32) -> RgbImage {
    let (w, h) = picture.dimensions();
    RgbImage::from_fn(w * scale, h * scale, |x, y| {
        *picture.get_pixel(x / scale, y / scale)
    })
}

/// Copies `picture` onto `image` with its top-left corner at (x, y).
pub fn paste(image: &mut RgbImage, picture: &RgbImage, x: u32, y: u32) {
    imageops::replace(image, picture, i64::from(x), i64::from(y));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_marks_pixels_inside_its_box() {
        let mut image = RgbImage::from_pixel(100, 30, Rgb([255; 3]));
        text(&mut image, 2, 2, "Wheat", BODY, Rgb([0; 3]));
        let dark = image.pixels().filter(|p| p.0[0] < 128).count();
        assert!(dark > 20, "{dark} dark pixels");
        let w = BODY.width("Wheat");
        assert!(image
            .enumerate_pixels()
            .filter(|(x, y, _)| *x >= 2 + w || *y >= 2 + BODY.height())
            .all(|(_, _, p)| p.0 == [255; 3]));
    }

    #[test]
    fn enlarge_is_nearest_neighbour() {
        let picture = RgbImage::from_fn(2, 1, |x, _| Rgb([x as u8 * 200; 3]));
        let big = enlarge(&picture, 4);
        assert_eq!(big.dimensions(), (8, 4));
        assert_eq!(big.get_pixel(3, 3).0, [0; 3]);
        assert_eq!(big.get_pixel(4, 0).0, [200; 3]);
    }
}
